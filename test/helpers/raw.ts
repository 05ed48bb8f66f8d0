/**
 * @module test/helpers/raw
 * Raw TCP exchanges, for requests no well-behaved client would send.
 */
import { connect } from "node:net";

export interface RawResponse {
  /** Status code of the first response, or 0 when none arrived. */
  status: number;
  /** Lower-cased header names of the first response. */
  headers: Record<string, string>;
  body: string;
  /** Everything received. */
  text: string;
  /** Whether the gateway closed the connection (before the timeout). */
  closed: boolean;
}

/** Writes `request` verbatim and collects what comes back until close or `timeoutMs`. */
export function rawRequest(
  port: number,
  request: string | Buffer,
  timeoutMs = 1000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    const chunks: Buffer[] = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks).toString("latin1"), closed));
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET") {
        closed = true;
        finish();
      } else reject(error);
    });
    socket.on("close", () => {
      closed = true;
      finish();
    });
  });
}

function parseResponse(text: string, closed: boolean): RawResponse {
  const end = text.indexOf("\r\n\r\n");
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  return { status, headers, body: end === -1 ? "" : text.slice(end + 4), text, closed };
}
