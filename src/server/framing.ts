/**
 * @module server/framing
 * Strict HTTP/1 framing checks at the edge, for what Node's parser lets through: a
 * request whose length or target two parsers could read differently is refused before
 * it reaches the router, so it can never be smuggled to an upstream.
 */
import type { IncomingMessage } from "node:http";
import type { ErrorCode } from "../errors.ts";

export interface FramingLimits {
  maxHeaderCount: number;
  maxUriLength: number;
}

/**
 * A Host value as RFC 9112 section 3.2 allows: a reg-name (with the sub-delims Go's
 * net/http also accepts), an IPv4 address or a bracketed IPv6 one, then an optional port.
 * Anything else (`evil.com/x`, `a@b`, spaces) would reach routing, logs and, with
 * preserveHost, the upstream.
 */
const validHost = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9!$&'()*+,\-.;=_~%]*)(?::[0-9]*)?$/;

/**
 * Returns the error code for a request that must be refused, or undefined when its
 * framing is sound. Node's parser already rejects CL+TE, bad Content-Length values,
 * obfuscated Transfer-Encoding tokens and CR/LF/NUL in header values; these are the rest,
 * plus a Host value that is no host.
 */
export function checkFraming(req: IncomingMessage, limits: FramingLimits): ErrorCode | undefined {
  const raw = req.rawHeaders;
  if (raw.length > limits.maxHeaderCount * 2) return "GATEHOUSE_HEADERS_TOO_LARGE";
  if (req.url!.length > limits.maxUriLength) return "GATEHOUSE_URI_TOO_LONG";
  let hosts = 0;
  let lengths = 0;
  let encodings = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") {
          hosts++;
          if (!validHost.test(raw[i + 1]!)) return "GATEHOUSE_BAD_HOST";
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          lengths++;
          if (!/^\d{1,15}$/.test(raw[i + 1]!)) return "GATEHOUSE_BAD_FRAMING";
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") {
          encodings++;
          if (raw[i + 1]!.trim().toLowerCase() !== "chunked") return "GATEHOUSE_BAD_FRAMING";
        }
        break;
    }
  }
  if (hosts > 1 || (hosts === 0 && req.httpVersionMinor === 1)) return "GATEHOUSE_BAD_HOST";
  if (lengths > 1 || encodings > 1 || (lengths > 0 && encodings > 0))
    return "GATEHOUSE_BAD_FRAMING";
  if (encodings > 0 && req.httpVersionMinor === 0) return "GATEHOUSE_BAD_FRAMING";
  return undefined;
}
