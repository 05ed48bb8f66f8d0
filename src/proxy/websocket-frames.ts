/**
 * @module proxy/websocket-frames
 * Just enough of RFC 6455 for a tunnel to close itself cleanly: where frames begin and
 * end in a byte stream (headers read, payloads skipped, nothing buffered or decoded), and
 * the bytes of a close frame. A close frame may only go out at a frame boundary; control
 * frames may sit between the fragments of a message, so a boundary is enough.
 */
import { randomBytes } from "node:crypto";

/** The longest a frame header gets: 2 bytes, 8 of extended length, 4 of mask. */
const maxHeaderLength = 14;

/** Follows frame boundaries in one direction of a tunnel. */
export class FrameBoundary {
  /** Payload bytes left in the current frame. */
  #remaining = 0;
  /** The part of the next frame's header seen so far. */
  readonly #header = Buffer.alloc(maxHeaderLength);
  #headerLength = 0;

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
      this.#header[this.#headerLength++] = chunk[at++]!;
      const needed = headerLength(this.#header, this.#headerLength);
      if (this.#headerLength === needed) {
        this.#remaining = payloadLength(this.#header);
        this.#headerLength = 0;
      }
    }
    return at;
  }
}

/** The full header length once its first two bytes are known (until then, more than seen). */
function headerLength(header: Buffer, seen: number): number {
  if (seen < 2) return 2;
  const length = header[1]! & 0x7f;
  const extended = length === 126 ? 2 : length === 127 ? 8 : 0;
  const mask = header[1]! & 0x80 ? 4 : 0;
  return 2 + extended + mask;
}

function payloadLength(header: Buffer): number {
  const length = header[1]! & 0x7f;
  if (length === 126) return header.readUInt16BE(2);
  if (length === 127) return Number(header.readBigUInt64BE(2));
  return length;
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
