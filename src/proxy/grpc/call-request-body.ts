/**
 * @module proxy/grpc/call-request-body
 * A gRPC call's request messages: streamed from the client into the current try with
 * back-pressure (the client is paused while the try cannot take more), and kept for a
 * retry while one is possible and they fit the service's `retries.maxBufferedBody`.
 */
import type { Readable } from "node:stream";

/** Where request bytes go: the current try. */
export interface RequestBodySink {
  /** False when the sink wants no more until it says it drained. */
  write(chunk: Buffer): boolean;
  end(): void;
}

export class CallRequestBody {
  readonly #source: Readable | undefined;
  readonly #maxKept: number;
  readonly #onError: () => void;
  #sink: RequestBodySink | undefined;
  /** The bytes sent so far, for a retry; undefined once a retry could not send them all. */
  #kept: Buffer[] | undefined = [];
  #keptBytes = 0;
  #paused = false;
  #ended = false;

  /**
   * `body` is the client's stream, or every message at once. `onError`: the client's
   * stream failed (it went away).
   */
  constructor(body: Readable | Uint8Array, maxKept: number, onError: () => void) {
    this.#maxKept = maxKept;
    this.#onError = onError;
    if (body instanceof Uint8Array) {
      this.#keep(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      this.#ended = true;
      return;
    }
    this.#source = body;
    body.on("data", this.#onData);
    body.once("end", this.#onEnd);
    body.once("error", onError);
  }

  /** Whether everything sent so far can be sent again. */
  get replayable(): boolean {
    return this.#kept !== undefined;
  }

  /** Sends the bytes kept so far to `sink`, then whatever comes next as it makes room. */
  attach(sink: RequestBodySink): void {
    this.#sink = sink;
    let room = true;
    for (const chunk of this.#kept ?? []) room = sink.write(chunk);
    if (this.#ended) sink.end();
    // A sink that took it all at once (its stream was open) will not say it drained.
    else if (room) this.drained(sink);
  }

  /** No try to send to (a retry's backoff): the client waits. */
  detach(): void {
    this.#sink = undefined;
    this.#pause();
  }

  /** `sink` can take more: the client may go on. */
  drained(sink: RequestBodySink): void {
    if (sink !== this.#sink || !this.#paused) return;
    this.#paused = false;
    this.#source!.resume();
  }

  /** No retry can happen any more: stop keeping bytes. */
  forget(): void {
    this.#kept = undefined;
  }

  /** The call is over: the client's stream is left alone. */
  close(): void {
    this.forget();
    this.#sink = undefined;
    const source = this.#source;
    if (!source) return;
    source.off("data", this.#onData);
    source.off("end", this.#onEnd);
    source.off("error", this.#onError);
  }

  #onData = (chunk: Buffer): void => {
    this.#keep(chunk);
    // Without a sink (between tries) the chunk is kept for the next one, if it can be.
    if (!this.#sink?.write(chunk)) this.#pause();
  };

  #onEnd = (): void => {
    this.#ended = true;
    this.#sink?.end();
  };

  #keep(chunk: Buffer): void {
    if (!this.#kept) return;
    this.#keptBytes += chunk.length;
    if (this.#keptBytes > this.#maxKept) this.#kept = undefined;
    else this.#kept.push(chunk);
  }

  #pause(): void {
    if (!this.#source || this.#paused) return;
    this.#paused = true;
    this.#source.pause();
  }
}
