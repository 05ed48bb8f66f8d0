/**
 * @module upstream/health/status-probe
 * The plain-HTTP probe that only needs a status: the request is written as prepared
 * bytes on a fresh socket and only the response's status line and header block are read.
 * node:http's client (an Agent, a ClientRequest and its parser per probe) costs several
 * times the probe's own connect; with a thousand targets probed every few seconds that
 * was most of an idle gateway's CPU. Probes that read a body, and HTTPS ones, use node:http.
 */
import { validateHeaderName, validateHeaderValue } from "node:http";
import { connect } from "node:net";
import type { Target } from "../target.ts";
import type { Verdict } from "./active.ts";

/** A response head larger than this fails the probe (node:http's default limit). */
const maxHeadBytes = 16 * 1024;

/** The headers node:http would frame itself; a config that sets one keeps node:http. */
const framing = new Set(["connection", "content-length", "transfer-encoding", "expect"]);

/**
 * The request's bytes after the request line and Host, or undefined when a header or the
 * path is one this probe does not send as is (node:http then sends, or rejects, it).
 */
export function statusProbeHeaders(
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
): string | undefined {
  if (!/^\/[\x21-\x7e]*$/.test(path)) return undefined;
  let text = "";
  for (const [name, value] of Object.entries(headers)) {
    if (name === "host" || framing.has(name)) return undefined;
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      return undefined;
    }
    text += `${name}: ${value}\r\n`;
  }
  // A fresh connection per probe, closed by either side once the answer is in.
  return `${text}${method === "POST" ? "content-length: 0\r\n" : ""}connection: close\r\n\r\n`;
}

/** `HTTP/1.1 204 No Content` → 204; anything else is not an HTTP/1 response. */
const statusLine = /^HTTP\/1\.[01] (\d{3})(?:[ \r])/;

/**
 * Sends `requestLine` + `host` + `headers` (from statusProbeHeaders) to the target and
 * passes when the final status (1xx heads are skipped) is in `expected`.
 */
export function probeStatus(
  target: Target,
  hostname: string,
  head: string,
  expected: ReadonlySet<number>,
  signal: AbortSignal,
): Promise<Verdict> {
  return new Promise((resolve) => {
    let connected = false;
    let received = "";
    const socket = connect({ host: hostname, port: target.port });
    const settle = (verdict: Verdict) => {
      signal.removeEventListener("abort", abort);
      socket.destroy();
      resolve(verdict);
    };
    const abort = () => settle({ ok: false, kind: "reset", detail: "aborted" });
    signal.addEventListener("abort", abort, { once: true });
    socket.setNoDelay(true);
    socket.once("connect", () => {
      connected = true;
      socket.write(head);
    });
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      for (;;) {
        const end = received.indexOf("\r\n\r\n");
        if (end === -1) break;
        const status = Number(statusLine.exec(received)?.[1] ?? 0);
        if (status === 0)
          return settle({ ok: false, kind: "reset", detail: "not an HTTP response" });
        if (status >= 200) {
          return settle(
            expected.has(status)
              ? { ok: true, kind: "success", detail: `status ${status}` }
              : { ok: false, kind: "server-error", detail: `status ${status}` },
          );
        }
        received = received.slice(end + 4);
      }
      if (received.length > maxHeadBytes)
        settle({ ok: false, kind: "reset", detail: "response head too large" });
    });
    socket.once("end", () => settle({ ok: false, kind: "reset", detail: "ECONNRESET" }));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      settle({
        ok: false,
        kind: connected ? "reset" : "connect-failure",
        detail: error.code ?? error.message,
      }),
    );
  });
}
