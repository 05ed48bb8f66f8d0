/**
 * @module grpc/web
 * gRPC-Web as browsers speak it, translated to and from native gRPC: which content types
 * are gRPC-Web and what they become upstream, the `-text` variant's base64 decoded and
 * encoded as a stream (however the chunks are cut), and the trailers that gRPC-Web sends
 * as a last frame in the body (flag 0x80) because browsers cannot read HTTP trailers.
 */

/** What a gRPC-Web request's content type says. */
export interface GrpcWebMode {
  /** `-text`: the body is base64, both ways. */
  text: boolean;
  /** The content type to send the target: `application/grpc` with the same suffix. */
  upstreamContentType: string;
  /** The content type to answer the client with. */
  responseContentType: string;
}

const grpcWebType = /^application\/grpc-web(-text)?(\+[a-z0-9.-]+)?\s*(;|$)/i;

/** The mode of a gRPC-Web content type; undefined for any other content type. */
export function grpcWebMode(contentType: string | undefined): GrpcWebMode | undefined {
  const match = contentType === undefined ? null : grpcWebType.exec(contentType);
  if (!match) return undefined;
  const text = match[1] !== undefined;
  const suffix = (match[2] ?? "").toLowerCase();
  return {
    text,
    upstreamContentType: `application/grpc${suffix}`,
    responseContentType: `application/grpc-web${text ? "-text" : ""}${suffix || "+proto"}`,
  };
}

/** The flag byte of the frame that carries trailers in a gRPC-Web body. */
export const trailerFrameFlag = 0x80;

/**
 * The trailers frame: flag 0x80, a 4-byte length, then `name: value\r\n` lines with
 * lower-case names, as gRPC-Web clients read them.
 */
export function encodeTrailersFrame(trailers: Readonly<Record<string, string>>): Uint8Array {
  const lines = Object.entries(trailers)
    .map(([name, value]) => `${name.toLowerCase()}: ${value}\r\n`)
    .join("");
  const payload = Buffer.from(lines, "latin1");
  const frame = new Uint8Array(5 + payload.length);
  frame[0] = trailerFrameFlag;
  new DataView(frame.buffer).setUint32(1, payload.length);
  frame.set(payload, 5);
  return frame;
}

/** Thrown by {@link Base64StreamDecoder.push} on text that is not base64. */
export class GrpcWebTextError extends Error {
  override name = "GrpcWebTextError";
}

const base64Group = /^[A-Za-z0-9+/]{2}(?:[A-Za-z0-9+/]{2}|[A-Za-z0-9+/]=|==)$/;

/**
 * Decodes a `-text` request body chunk by chunk. A chunk may end inside a 4-character
 * group, and a client may base64 each message on its own, so padding (`=`) can end a group
 * in the middle of the stream: each padded group is decoded by itself.
 */
export class Base64StreamDecoder {
  #rest = "";

  /** Decodes what `chunk` completes; keeps an unfinished group for the next chunk. */
  push(chunk: string): Buffer {
    const text = this.#rest + chunk.replace(/\s+/g, "");
    const whole = text.length - (text.length % 4);
    this.#rest = text.slice(whole);
    if (whole === 0) return Buffer.alloc(0);
    const body = text.slice(0, whole);
    if (!body.includes("=")) {
      if (!/^[A-Za-z0-9+/]*$/.test(body)) throw new GrpcWebTextError("the body is not base64");
      return Buffer.from(body, "base64");
    }
    const parts: Buffer[] = [];
    for (let at = 0; at < whole; at += 4) {
      const group = body.slice(at, at + 4);
      if (!base64Group.test(group)) throw new GrpcWebTextError("the body is not base64");
      parts.push(Buffer.from(group, "base64"));
    }
    return Buffer.concat(parts);
  }

  /** The stream ended: an unfinished group is an error. */
  end(): void {
    if (this.#rest !== "") throw new GrpcWebTextError("the body ends inside a base64 group");
  }
}
