/**
 * @module proxy/headers
 * Header rewriting between client and upstream. Hop-by-hop headers, and every header the
 * sender names in `Connection`, are dropped before the gateway adds its own, so a client
 * cannot make the gateway strip `X-Forwarded-For` or `X-Request-Id`.
 */

/**
 * Whether the header name `raw` (as sent) is `lower` (lower case). Header names are ASCII
 * tokens, whose lower case has the same length: comparing lengths first spares most of
 * the lower-cased copies a scan of a header list would make.
 */
export function isHeaderName(raw: string, lower: string): boolean {
  return raw.length === lower.length && (raw === lower || raw.toLowerCase() === lower);
}

/**
 * Adds `name` to the `Vary` of a header list (name, value, name, value…), or a `Vary` of
 * its own when there is none; nothing when it is listed already or the list says `*`.
 */
export function addVary(headers: string[], name: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (!isHeaderName(headers[i]!, "vary")) continue;
    const value = headers[i + 1]!;
    const lower = name.toLowerCase();
    for (const token of value.split(",")) {
      const listed = token.trim().toLowerCase();
      if (listed === "*" || listed === lower) return;
    }
    headers[i + 1] = value.trim() === "" ? name : `${value}, ${name}`;
    return;
  }
  headers.push("vary", name);
}

/** Headers that describe one connection, never forwarded (RFC 9110 section 7.6.1). */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/** Request headers the gateway always sets itself. */
const gatewayOwned = new Set([
  "host",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "forwarded",
  "x-request-id",
  "expect",
]);

/**
 * The consumer headers only the gateway's authentication may set. A client's own are
 * dropped on every route (a trusted proxy's too), so an upstream that reads them on one
 * route cannot be told who the client is on another route without authentication.
 */
const consumerIdentity = new Set(["x-consumer-name", "x-consumer-groups", "x-anonymous-consumer"]);

/**
 * Lower-cased header names listed in a `Connection` header value, or undefined. Pass
 * `into` to add to the names already found in an earlier `Connection` header.
 */
export function connectionListed(
  value: string | undefined,
  into?: Set<string>,
): Set<string> | undefined {
  if (!value) return into;
  // The usual values name no header: answer them without splitting.
  if (value.length <= 10) {
    const lower = value.toLowerCase();
    if (lower === "keep-alive" || lower === "close") return into;
  }
  let names = into;
  for (const token of value.split(",")) {
    const name = token.trim().toLowerCase();
    if (name === "" || name === "close" || name === "keep-alive") continue;
    names ??= new Set();
    names.add(name);
  }
  return names;
}

/** Whether a `TE` value offers `trailers` (`TE: trailers`, `TE: deflate, trailers;q=1`). */
function acceptsTrailers(value: string): boolean {
  for (const token of value.split(",")) {
    const semicolon = token.indexOf(";");
    const coding = (semicolon === -1 ? token : token.slice(0, semicolon)).trim().toLowerCase();
    if (coding === "trailers") return true;
  }
  return false;
}

/**
 * The header carrying a request's remaining time, in whole milliseconds: sent upstream on
 * each try of a service with `timeouts.total`, and between services by the SDK.
 */
export const deadlineHeader = "x-request-timeout-ms";

/** What the gateway knows about a request when it writes the upstream headers. */
export interface ForwardingFacts {
  rawHeaders: readonly string[];
  connection: string | undefined;
  /** Whether the TCP peer is a trusted proxy, so its X-Forwarded-* are kept and extended. */
  peerTrusted: boolean;
  peerAddress: string;
  protocol: "http" | "https";
  /** The Host the client asked for. */
  host: string;
  /** The Host to send: the client's with preserveHost, else the target's. */
  upstreamHost: string;
  requestId: string;
}

const specialRequestNameLengths = new Uint8Array(32);
for (const name of [...hopByHop, ...gatewayOwned, ...consumerIdentity]) {
  specialRequestNameLengths[name.length] = 1;
}

/** The flat [name, value, ...] header list to send upstream. */
export function upstreamRequestHeaders(facts: ForwardingFacts): string[] {
  // Host first: a retry to another target rewrites out[1] in place.
  const out: string[] = ["host", facts.upstreamHost];
  const listed = connectionListed(facts.connection);
  let priorFor: string | undefined;
  let priorProto: string | undefined;
  let priorHost: string | undefined;
  let priorForwarded: string | undefined;
  let sentTrailers = false;
  const raw = facts.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Most names are none of the special ones; their length alone says so.
    if (!listed && specialRequestNameLengths[name.length] !== 1) {
      out.push(name, raw[i + 1]!);
      continue;
    }
    const lower = name.toLowerCase();
    if (hopByHop.has(lower)) {
      // `TE: trailers` says the client accepts trailers, which gRPC needs end to end; the
      // transfer codings beside it are about this hop only.
      if (lower === "te" && !sentTrailers && acceptsTrailers(raw[i + 1]!)) {
        out.push("te", "trailers");
        sentTrailers = true;
      }
      continue;
    }
    if (listed?.has(lower) || consumerIdentity.has(lower)) continue;
    if (gatewayOwned.has(lower)) {
      if (!facts.peerTrusted) continue;
      const value = raw[i + 1]!;
      if (lower === "x-forwarded-for") priorFor = priorFor ? `${priorFor}, ${value}` : value;
      else if (lower === "x-forwarded-proto") priorProto ??= value;
      else if (lower === "x-forwarded-host") priorHost ??= value;
      else if (lower === "forwarded")
        priorForwarded = priorForwarded ? `${priorForwarded}, ${value}` : value;
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  const peer = facts.peerAddress;
  const forwardedFor = peer.includes(":") ? `"[${peer}]"` : peer;
  const forwarded = `for=${forwardedFor};host=${quoteIfNeeded(facts.host)};proto=${facts.protocol}`;
  out.push(
    "x-forwarded-for",
    priorFor ? `${priorFor}, ${peer}` : peer,
    "x-forwarded-proto",
    priorProto ?? facts.protocol,
    "x-forwarded-host",
    priorHost ?? facts.host,
    "forwarded",
    priorForwarded ? `${priorForwarded}, ${forwarded}` : forwarded,
    "x-request-id",
    facts.requestId,
  );
  return out;
}

// Clients of one gateway mostly send one or a few Host values: remember the last one.
let lastHost = "";
let lastQuoted = "";

function quoteIfNeeded(value: string): string {
  if (value === lastHost) return lastQuoted;
  lastHost = value;
  lastQuoted = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)
    ? value
    : `"${value.replace(/["\\]/g, "\\$&")}"`;
  return lastQuoted;
}

/**
 * The flat header list to send the client from undici's raw response headers, without
 * hop-by-hop headers, plus the request id.
 */
export function clientResponseHeaders(
  rawHeaders: readonly Buffer[],
  requestId: string,
  close: boolean,
): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toString("latin1");
    // Only names as long as a dropped one need a case-insensitive look.
    if (droppedNameLengths[name.length] === 1) {
      const lower = name.toLowerCase();
      if (lower === "connection") {
        // Every Connection header counts, not only the last.
        listed = connectionListed(rawHeaders[i + 1]!.toString("latin1"), listed);
        continue;
      }
      if (hopByHop.has(lower) || lower === "x-request-id") continue;
    }
    out.push(name, rawHeaders[i + 1]!.toString("latin1"));
  }
  if (listed) dropListed(out, listed);
  out.push("x-request-id", requestId);
  if (close) out.push("connection", "close");
  return out;
}

const droppedNameLengths = new Uint8Array(32);
for (const name of [...hopByHop, "x-request-id"]) droppedNameLengths[name.length] = 1;

/** Removes, in place, the [name, value] pairs whose name a Connection header listed. */
function dropListed(headers: string[], listed: ReadonlySet<string>): void {
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (listed.has(headers[i]!.toLowerCase())) continue;
    headers[kept++] = headers[i]!;
    headers[kept++] = headers[i + 1]!;
  }
  headers.length = kept;
}

/** Index of the first pair named `name` (lower-case) in a flat header list, or -1. */
export function findHeader(headers: readonly string[], name: string, from = 0): number {
  for (let i = from; i < headers.length; i += 2) {
    if (isHeaderName(headers[i]!, name)) return i;
  }
  return -1;
}

/**
 * Sets `name` (lower-case) in a flat header list: every pair of that name from `from` on
 * is removed, then `value` is appended unless it is undefined (which removes the header).
 */
export function setHeader(
  headers: string[],
  name: string,
  value: string | undefined,
  from = 0,
): void {
  for (let i = headers.length - 2; i >= from; i -= 2) {
    if (isHeaderName(headers[i]!, name)) headers.splice(i, 2);
  }
  if (value !== undefined) headers.push(name, value);
}

/**
 * A request header's value as one string: repeated field lines joined with ", " (RFC 9110
 * section 5.3), as Node joins most repeated headers itself, so a header reads the same
 * whether it came as one line or several.
 */
export function combinedHeaderValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/** undici's flat trailer list as the [name, value] pairs `res.addTrailers` takes. */
export function trailerPairs(trailers: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < trailers.length; i += 2)
    pairs.push([String(trailers[i]), String(trailers[i + 1])]);
  return pairs;
}
