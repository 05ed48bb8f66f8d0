/**
 * @module proxy/request-body
 * The client's request body as the proxy sees it: whether one is still unread, and the
 * limit a chunked body is counted against as it streams upstream.
 */
import type { IncomingMessage } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import type { GatewayResponse } from "../server/exchange.ts";

/** Whether the client is (or may still be) sending a body nobody has read. */
export function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Passes a chunked request body through, counting it and failing once it exceeds the limit. */
export class BodyLimit extends Transform {
  #remaining: number;
  readonly #record: GatewayResponse;
  readonly #onExceeded: () => void;

  constructor(limit: number, record: GatewayResponse, onExceeded: () => void) {
    super();
    this.#remaining = limit;
    this.#record = record;
    this.#onExceeded = onExceeded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#record.bytesInCounted += chunk.length;
    this.#remaining -= chunk.length;
    if (this.#remaining < 0) {
      this.#onExceeded();
      callback(new Error("request body exceeds maxBodySize"));
      return;
    }
    callback(null, chunk);
  }
}

/** A chunked request body, counted (metrics, the access log) and failing past `limit` bytes. */
export function countedRequestBody(
  req: IncomingMessage,
  res: GatewayResponse,
  limit: number,
  tooLarge: () => void,
): Transform {
  res.bytesInCounted = 0;
  const counted = new BodyLimit(limit, res, tooLarge);
  req.on("error", (error) => counted.destroy(error));
  return req.pipe(counted);
}

/** Reads a body of `length` bytes whole; `done` gets it at its end. Returns `req` (for its errors). */
export function readWholeBody(
  req: IncomingMessage,
  length: number,
  done: (body: Buffer) => void,
): IncomingMessage {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.once("end", () => done(Buffer.concat(chunks, length)));
  return req;
}
