/**
 * @module test/helpers/raw-upstream
 * An upstream on a raw TCP socket that records each request's head exactly as the gateway
 * wrote it (header names in their case, duplicates, whitespace: what node:http would
 * normalise) and answers 200 with that head as a JSON list of lines, adding the response
 * header lines a request asks for in `x-respond-with` (base64url JSON list of lines).
 * Keep-alive, with Content-Length and chunked request bodies read and dropped.
 */
import { createServer, type Socket } from "node:net";

export interface RawUpstream {
  port: number;
  url: string;
  /** Every request head received, as its lines (request line first), in order. */
  heads: string[][];
  close(): Promise<void>;
}

export async function startRawUpstream(): Promise<RawUpstream> {
  const heads: string[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const used = answerOne(buffer, socket, heads);
        if (used === 0) return;
        buffer = buffer.subarray(used);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    heads,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends the upstream's response with these header lines too (to a raw upstream's request). */
export function respondWith(lines: readonly string[]): string {
  return `x-respond-with: ${Buffer.from(JSON.stringify(lines)).toString("base64url")}`;
}

/** Answers the first whole request in `buffer`; returns the bytes it took, 0 if not whole yet. */
function answerOne(buffer: Buffer, socket: Socket, heads: string[][]): number {
  const end = buffer.indexOf("\r\n\r\n");
  if (end === -1) return 0;
  const lines = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const header = (name: string) =>
    lines
      .slice(1)
      .filter((line) => line.slice(0, line.indexOf(":")).trim().toLowerCase() === name)
      .map((line) => line.slice(line.indexOf(":") + 1).trim());
  let used = end + 4;
  if (header("transfer-encoding").some((value) => /chunked/i.test(value))) {
    const last = buffer.indexOf("0\r\n\r\n", used);
    if (last === -1) return 0;
    used = last + 5;
  } else {
    const length = Number(header("content-length")[0] ?? 0);
    if (buffer.length < used + length) return 0;
    used += length;
  }
  heads.push(lines);
  const body = JSON.stringify(lines);
  const asked = header("x-respond-with")[0];
  const extra = asked ? (JSON.parse(Buffer.from(asked, "base64url").toString()) as string[]) : [];
  socket.write(
    `HTTP/1.1 200 OK\r\n${extra.map((line) => `${line}\r\n`).join("")}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return used;
}
