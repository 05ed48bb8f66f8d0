/**
 * @module plugins/request-validation/body-reader
 * The body, when it must be read to be checked: read whole and bounded before the
 * upstream is called (enforce: an invalid body is refused before anything is sent), then
 * given to the upstream as it came through a transform that replays it; or copied while it
 * streams on unchanged (report mode, and responses), checked once it ended.
 */
import type { IncomingMessage } from "node:http";
import { Transform, type TransformCallback } from "node:stream";

export type BodyRead = { kind: "read"; body: Buffer } | { kind: "too-large" } | { kind: "gone" };

/**
 * Reads `req`'s body whole, up to `limit` bytes. A client that said `Expect: 100-continue`
 * is asked for its body first (the gateway asks again after the plugins, which HTTP allows).
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  if (req.headers.expect?.toLowerCase() === "100-continue") askForBody(req);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (read: BodyRead) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onGone);
      req.off("close", onGone);
      if (read.kind !== "read") req.pause();
      resolve(read);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done({ kind: "too-large" });
      else chunks.push(chunk);
    };
    const onEnd = () => done({ kind: "read", body: Buffer.concat(chunks, size) });
    const onGone = () => done({ kind: "gone" });
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onGone);
    req.once("close", onGone);
  });
}

function askForBody(req: IncomingMessage): void {
  const stream = (req as { stream?: { additionalHeaders(headers: object): void } }).stream;
  if (stream) stream.additionalHeaders({ ":status": 100 });
  else if (!req.socket.destroyed) req.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
}

/** Gives the upstream a body already read: the client's stream is spent, this replays it. */
export class ReplayedBody extends Transform {
  readonly #body: Buffer;

  constructor(body: Buffer) {
    super();
    this.#body = body;
  }

  override _transform(
    _chunk: Buffer,
    _encoding: BufferEncoding,
    callback: TransformCallback,
  ): void {
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.#body.length > 0 ? this.#body : undefined);
  }
}

/**
 * Passes a body through unchanged, keeping a copy of up to `limit` bytes; at its end,
 * `ended` gets the copy, or undefined when the body was larger than that.
 */
export class BodyCopy extends Transform {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  readonly #limit: number;
  readonly #ended: (body: Buffer | undefined) => void;

  constructor(limit: number, ended: (body: Buffer | undefined) => void) {
    super();
    this.#limit = limit;
    this.#ended = ended;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size <= this.#limit) this.#chunks.push(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback();
    // After the last bytes went on: checking never holds the body up.
    const body = this.#size <= this.#limit ? Buffer.concat(this.#chunks, this.#size) : undefined;
    setImmediate(() => this.#ended(body));
  }
}
