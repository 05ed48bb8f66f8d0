/**
 * @module proxy/transformed-body
 * A body on its way through the transforms plugins asked for (see
 * pipeline/body-transform.ts): the request's, read from the client through its size
 * bound; the response's, written chunk by chunk as the upstream sends it, counted against
 * its bound, and passed to the client with back-pressure. Only routes whose plugins ask
 * for a transform come here.
 */
import { pipeline, type Readable, type Transform } from "node:stream";
import type { BodyTransforms } from "../pipeline/body-transform.ts";
import type { GatewayResponse } from "../server/exchange.ts";
import type { ForwardRequest } from "./forward-request.ts";
import { setHeader } from "./headers.ts";
import { BodyLimit } from "./request-body.ts";

/** What a transformed response tells the request it belongs to. */
export interface TransformedResponseOwner {
  /** The first transformed bytes are ready (or the body ended empty): send the head. */
  sendHead(): void;
  /** The upstream's body passed the bound. */
  tooLarge(): void;
  /** A transform failed (a plugin's bug). */
  failed(error: Error): void;
  /** The transformed body was written whole. */
  done(): void;
}

/**
 * The request body through its bound and the transforms, sent without its length;
 * undefined when its Content-Length (`length`) is already over the bound. A transform's
 * failure is told through `failed` before the stream sent upstream breaks, so the try
 * ends for that reason rather than as the upstream's fault.
 */
export function transformedRequestBody(
  { req, res, maxBodySize, headers }: ForwardRequest,
  transforms: BodyTransforms,
  length: number | undefined,
  tooLarge: () => void,
  failed: (error: Error) => void,
): Readable | undefined {
  const bound = maxBodySize === 0 ? transforms.maxSize : Math.min(maxBodySize, transforms.maxSize);
  if (length !== undefined && length > bound) return undefined;
  setHeader(headers, "content-length", undefined, 2);
  // A body a plugin already read whole (to check it first) is not counted again here: its
  // size is then the declared Content-Length.
  if (!req.readableEnded) res.bytesInCounted = 0;
  const limit = new BodyLimit(bound, res, tooLarge);
  for (const stream of transforms.streams) stream.once("error", failed);
  return pipeline([req, limit, ...transforms.streams], () => {}) as Transform;
}

/** The upstream's response body through the transforms to the client. */
export class TransformedResponse {
  readonly #res: GatewayResponse;
  readonly #streams: Transform[];
  readonly #owner: TransformedResponseOwner;
  #remaining: number;

  constructor(res: GatewayResponse, transforms: BodyTransforms, owner: TransformedResponseOwner) {
    this.#res = res;
    this.#streams = transforms.streams;
    this.#owner = owner;
    this.#remaining = transforms.maxSize;
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      owner.failed(error);
    };
    for (const stream of this.#streams) stream.once("error", fail);
    const last = this.#streams.at(-1)!;
    if (this.#streams.length > 1) pipeline(this.#streams, () => {});
    last.on("data", (chunk: Buffer | string) => this.#output(last, chunk));
    last.once("end", () => {
      if (!res.headersSent) owner.sendHead();
      owner.done();
    });
  }

  /** Takes one chunk of the upstream's body; false (and `resume` later) to pause it. */
  write(chunk: Buffer, resume: () => void): boolean {
    this.#remaining -= chunk.length;
    if (this.#remaining < 0) {
      this.#owner.tooLarge();
      return false;
    }
    const first = this.#streams[0]!;
    if (first.write(chunk)) return true;
    first.once("drain", resume);
    return false;
  }

  /** The upstream's body ended. */
  end(): void {
    this.#streams[0]!.end();
  }

  /** The request ended otherwise: the transforms are of no more use. */
  destroy(): void {
    for (const stream of this.#streams) stream.destroy();
  }

  #output(last: Readable, chunk: Buffer | string): void {
    const res = this.#res;
    if (!res.headersSent) this.#owner.sendHead();
    if (res.destroyed) return;
    res.bytesOut += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    if (res.write(chunk)) return;
    last.pause();
    res.once("drain", () => last.resume());
  }
}
