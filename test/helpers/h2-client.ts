/**
 * @module test/helpers/h2-client
 * Requests over HTTP/2 for tests: one request on a node:http2 session, read whole, and curl
 * (whose HTTP/2 support is nghttp2's, a client independent of Node's).
 */
import { execFile } from "node:child_process";
import type { ClientHttp2Session, IncomingHttpHeaders } from "node:http2";

export interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on an HTTP/2 session; `body` (a string, or chunks sent one by one) ends it. */
export function h2Request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: string | string[],
): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let text = "";
    let head: IncomingHttpHeaders = {};
    stream.on("response", (received) => {
      head = received;
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: text }));
    stream.on("error", reject);
    if (typeof body === "string") stream.end(body);
    else if (body) {
      for (const chunk of body) stream.write(chunk);
      stream.end();
    }
  });
}

/** Runs curl; a missing curl fails the test with how to install it. */
export function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-s", "-i", "-m", "10", ...args], (error, stdout) => {
      if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT")
        reject(new Error("curl not found: install it with `apt-get install -y curl`"));
      else if (error) reject(error);
      else resolve(stdout);
    });
  });
}
