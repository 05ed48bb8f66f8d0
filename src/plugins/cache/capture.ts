/**
 * @module plugins/cache/capture
 * Copies a response body on its way to the client, for storing, up to a bound: past it
 * the copy is dropped and the body passes on untouched, so a large response is streamed
 * to the client and never held whole.
 */
import { Transform, type TransformCallback } from "node:stream";

export class BodyCapture extends Transform {
  readonly #limit: number;
  readonly #done: (body: Buffer | undefined) => void;
  #chunks: Buffer[] | undefined = [];
  #size = 0;

  /** `done` gets the whole body, or undefined when it passed `limit` bytes or broke. */
  constructor(limit: number, done: (body: Buffer | undefined) => void) {
    super();
    this.#limit = limit;
    this.#done = done;
    this.once("error", () => this.#finish(undefined));
    this.once("close", () => this.#finish(undefined));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#chunks !== undefined) {
      this.#size += chunk.length;
      if (this.#size > this.#limit) this.#finish(undefined);
      else this.#chunks.push(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#chunks !== undefined) this.#finish(Buffer.concat(this.#chunks, this.#size));
    callback();
  }

  #finish(body: Buffer | undefined): void {
    if (this.#chunks === undefined) return;
    this.#chunks = undefined;
    this.#done(body);
  }
}
