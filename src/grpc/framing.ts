/**
 * @module grpc/framing
 * gRPC's length-prefixed message framing: each message is a 1-byte compressed flag, a
 * 4-byte big-endian length, then the message. The decoder is incremental, since HTTP/2
 * DATA frames split messages anywhere and may carry several in one chunk.
 */

/** One message read from a gRPC stream. */
export interface GrpcFrame {
  compressed: boolean;
  message: Uint8Array;
}

/** gRPC's default maximum message size a receiver accepts (4 MiB). */
export const defaultMaxMessageBytes = 4 * 1024 * 1024;

/** Frames one message. */
export function encodeGrpcFrame(message: Uint8Array, compressed = false): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  frame[0] = compressed ? 1 : 0;
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

/** Thrown by {@link GrpcFrameDecoder.push} on a frame the stream cannot continue after. */
export class GrpcFramingError extends Error {
  override name = "GrpcFramingError";
}

/** Reads messages out of a stream of chunks, however they are cut. */
export class GrpcFrameDecoder {
  readonly #maxMessageBytes: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  }

  /** Adds a chunk; returns every message it completed, in order. */
  push(chunk: Uint8Array): GrpcFrame[] {
    if (chunk.length > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
    }
    const frames: GrpcFrame[] = [];
    while (this.#pendingBytes >= 5) {
      const header = this.#peek(5);
      if (header[0] > 1) throw new GrpcFramingError(`bad compressed flag ${header[0]}`);
      const length = new DataView(header.buffer, header.byteOffset, 5).getUint32(1);
      if (length > this.#maxMessageBytes) {
        throw new GrpcFramingError(
          `message of ${length} bytes is larger than the ${this.#maxMessageBytes} allowed`,
        );
      }
      if (this.#pendingBytes < 5 + length) break;
      const frame = this.#take(5 + length);
      frames.push({ compressed: frame[0] === 1, message: frame.subarray(5) });
    }
    return frames;
  }

  /** Bytes received that do not yet make a whole message (non-zero at the end: truncated). */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /** The first `count` pending bytes, joined into one chunk (and kept as the head). */
  #peek(count: number): Uint8Array {
    if (this.#pending[0].length < count) {
      const joined = concat(this.#pending, this.#pendingBytes);
      this.#pending = [joined];
    }
    return this.#pending[0].subarray(0, count);
  }

  #take(count: number): Uint8Array {
    const head = this.#peek(count);
    const rest = this.#pending[0].subarray(count);
    if (rest.length > 0) this.#pending[0] = rest;
    else this.#pending.shift();
    this.#pendingBytes -= count;
    return head;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}
