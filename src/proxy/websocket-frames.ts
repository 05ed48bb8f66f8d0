/**
 * @module proxy/websocket-frames
 * Just enough of RFC 6455 for a tunnel to close itself cleanly: where frames begin and
 * end in a byte stream (headers read, payloads skipped, nothing buffered or decoded), and
 * the bytes of a close frame. A close frame may only go out at a frame boundary; control
 * frames may sit between the fragments of a message, so a boundary is enough.
 */
import { randomBytes } from "node:crypto";

/**
 * Follows frame boundaries in one direction of a tunnel. The header is read into numbers as
 * its bytes arrive (no buffer of its own: an open tunnel holds two of these for its life).
 */
export class FrameBoundary {
  /** Payload bytes left in the current frame. */
  #remaining = 0;
  /** Bytes of the next frame's header seen so far. */
  #headerLength = 0;
  /** Its whole length, once its second byte is known (until then 2). */
  #headerNeeded = 2;
  /** Bytes of extended payload length the header carries (0, 2 or 8). */
  #extended = 0;
  /** The payload length read so far. */
  #payloadLength = 0;

  /** True between frames: a frame written now would not cut one in two. */
  get atBoundary(): boolean {
    return this.#remaining === 0 && this.#headerLength === 0;
  }

  /**
   * Reads past `chunk`, or with `untilBoundary` only up to the first boundary reached
   * (0 when already at one). Returns how many bytes of `chunk` were read.
   */
  advance(chunk: Buffer, untilBoundary: boolean): number {
    let at = 0;
    while (at < chunk.length) {
      if (untilBoundary && this.atBoundary) return at;
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - at);
        this.#remaining -= take;
        at += take;
        continue;
      }
      this.#headerByte(chunk[at++]!);
    }
    return at;
  }

  #headerByte(byte: number): void {
    const position = this.#headerLength++;
    if (position === 1) {
      // Mask bit and 7-bit length: 126 and 127 announce a 2- or 8-byte length after them.
      const length = byte & 0x7f;
      this.#extended = length === 126 ? 2 : length === 127 ? 8 : 0;
      this.#headerNeeded = 2 + this.#extended + (byte & 0x80 ? 4 : 0);
      this.#payloadLength = this.#extended === 0 ? length : 0;
    } else if (position >= 2 && position < 2 + this.#extended) {
      // Big-endian; past 2^53 a Number loses the low bits, as no real frame gets near.
      this.#payloadLength = this.#payloadLength * 256 + byte;
    }
    if (this.#headerLength < this.#headerNeeded) return;
    this.#remaining = this.#payloadLength;
    this.#headerLength = 0;
    this.#headerNeeded = 2;
  }
}

/**
 * A close frame with `code` and a short `reason`. Frames to a server must be masked
 * (RFC 6455 §5.3), frames to a client must not.
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const payload = Buffer.concat([Buffer.alloc(2), Buffer.from(reason).subarray(0, 123)]);
  payload.writeUInt16BE(code, 0);
  const head = Buffer.from([0x88, (masked ? 0x80 : 0) | payload.length]);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([head, mask, payload]);
}
