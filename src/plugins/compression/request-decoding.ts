/**
 * @module plugins/compression/request-decoding
 * Decodes a compressed request body on its way upstream (`decompressRequests`), bounded
 * by the size it decodes to: a few kilobytes of gzip can inflate to gigabytes, so the
 * decoded bytes are counted as they come out and the request is refused with 413 the
 * moment they pass the bound. The decoder keeps to the stream's back-pressure, so no more
 * than about one of its chunks is held beyond what the upstream has taken.
 */
import { Transform, type TransformCallback } from "node:stream";
import zlib from "node:zlib";
import { GatehouseError } from "../../errors.ts";
import { zstdAvailable } from "./encoders.ts";

const { constants } = zlib;

/**
 * The request codings decoded, by their `Content-Encoding` token. `deflate` is the zlib
 * format (RFC 9110 section 8.4.1.2); zstd's window is held to the 8 MB HTTP clients use,
 * so a frame cannot make the decoder reserve more.
 */
const decoders: Record<string, () => Transform> = {
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
  ...(zstdAvailable && {
    zstd: () => zlib.createZstdDecompress({ params: { [constants.ZSTD_d_windowLogMax]: 23 } }),
  }),
};

/** The decoder for a request's `Content-Encoding`, or undefined for one not decoded here. */
export function requestDecoder(contentEncoding: string): (() => Transform) | undefined {
  return decoders[contentEncoding.trim().toLowerCase()];
}

/**
 * The decoded body: what the decoder gives, counted against `maxSize`. Fails with
 * `GATEHOUSE_BODY_TOO_LARGE` past the bound, and `GATEHOUSE_BAD_CONTENT_ENCODING` for
 * data that does not decode: the client's fault, answered with that code. The decoder is
 * made with the first bytes, so a request without a body holds none.
 */
export class DecodedBody extends Transform {
  readonly #makeDecoder: () => Transform;
  #decoder: Transform | undefined;
  readonly #maxSize: number;
  #remaining: number;

  constructor(makeDecoder: () => Transform, maxSize: number) {
    super();
    this.#makeDecoder = makeDecoder;
    this.#maxSize = maxSize;
    this.#remaining = maxSize;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const decoder = this.#decoder ?? this.#start();
    if (decoder.write(chunk)) callback();
    else decoder.once("drain", () => callback());
  }

  override _flush(callback: TransformCallback): void {
    // An empty body is no valid encoding, but there is nothing to decode: it passes empty.
    const decoder = this.#decoder;
    if (!decoder) {
      callback();
      return;
    }
    decoder.once("end", () => callback());
    decoder.end();
  }

  override _read(size: number): void {
    this.#decoder?.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#decoder?.destroy();
    callback(error);
  }

  #start(): Transform {
    const decoder = this.#makeDecoder();
    this.#decoder = decoder;
    decoder.on("data", (chunk: Buffer) => {
      this.#remaining -= chunk.length;
      if (this.#remaining < 0) {
        this.destroy(
          new GatehouseError(
            "GATEHOUSE_BODY_TOO_LARGE",
            `The decoded request body is larger than ${this.#maxSize} bytes`,
          ),
        );
        return;
      }
      // The upstream is slower than the decoder: stop decoding until it catches up.
      if (!this.push(chunk)) decoder.pause();
    });
    decoder.once("error", (error) => {
      this.destroy(
        new GatehouseError(
          "GATEHOUSE_BAD_CONTENT_ENCODING",
          `The request body does not decode: ${error.message}`,
        ),
      );
    });
    return decoder;
  }
}
