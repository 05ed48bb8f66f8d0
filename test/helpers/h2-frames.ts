/**
 * @module test/helpers/h2-frames
 * HTTP/2 frames written by hand on a plain TCP connection (h2c with prior knowledge), for
 * tests that must send what no well-behaved client sends: streams reset as soon as they
 * open, floods of PING or SETTINGS, more streams than the server allows. Enough HPACK to
 * send a GET with literal fields; the server's frames are read back whole.
 */
import { connect, type Socket } from "node:net";

export const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const frameType = {
  data: 0,
  headers: 1,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goaway: 7,
  windowUpdate: 8,
} as const;

export const errorCode = { noError: 0, refusedStream: 7, cancel: 8, enhanceYourCalm: 11 } as const;

/** Identifiers of the SETTINGS parameters the tests read (RFC 9113 section 6.5.2). */
export const setting = { maxConcurrentStreams: 3 } as const;

const endStream = 0x1;
const endHeaders = 0x4;

/** One frame: a 9-byte head and its payload. */
export function frame(type: number, flags: number, stream: number, payload = Buffer.alloc(0)) {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** A literal field without indexing, its name given by a static-table index (RFC 7541 6.2.2). */
function literal(nameIndex: number, value: string): Buffer {
  const bytes = Buffer.from(value, "latin1");
  if (bytes.length > 126) throw new Error("literal too long for this encoder");
  return Buffer.concat([Buffer.from([nameIndex, bytes.length]), bytes]);
}

/** A literal field with a literal name, without indexing. */
function literalNamed(name: string, value: string): Buffer {
  const nameBytes = Buffer.from(name, "latin1");
  const valueBytes = Buffer.from(value, "latin1");
  return Buffer.concat([
    Buffer.from([0x00]),
    length7(nameBytes.length),
    nameBytes,
    length7(valueBytes.length),
    valueBytes,
  ]);
}

/** An HPACK string length with a 7-bit prefix (no Huffman). */
function length7(length: number): Buffer {
  if (length < 127) return Buffer.from([length]);
  const bytes = [127];
  let rest = length - 127;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/**
 * A HEADERS frame opening `stream` with `GET path` (`:method GET`, `:scheme http` and
 * `:path` from the static table, `:authority` literal), ending the stream unless `open`.
 */
export function getHeaders(
  stream: number,
  path = "/",
  options: { authority?: string; open?: boolean; fields?: [string, string][] } = {},
): Buffer {
  const block = Buffer.concat([
    Buffer.from([0x82, 0x86]),
    literal(0x04, path),
    literal(0x01, options.authority ?? "localhost"),
    ...(options.fields ?? []).map(([name, value]) => literalNamed(name, value)),
  ]);
  return frame(frameType.headers, endHeaders | (options.open ? 0 : endStream), stream, block);
}

export function rstStream(stream: number, code: number = errorCode.cancel): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(frameType.rstStream, 0, stream, payload);
}

export const ping = (): Buffer => frame(frameType.ping, 0, 0, Buffer.alloc(8));
export const settings = (): Buffer => frame(frameType.settings, 0, 0);
export const settingsAck = (): Buffer => frame(frameType.settings, 0x1, 0);

/** The parameters of a SETTINGS frame's payload, by identifier. */
export function settingsOf(payload: Buffer): Map<number, number> {
  const values = new Map<number, number>();
  for (let at = 0; at + 6 <= payload.length; at += 6)
    values.set(payload.readUInt16BE(at), payload.readUInt32BE(at + 2));
  return values;
}

export interface ReceivedFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export interface RawH2Connection {
  socket: Socket;
  /** Every frame the server sent so far. */
  frames: ReceivedFrame[];
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  /** The GOAWAY the server sent, if it did: its error code and last stream id. */
  goaway(): { code: number; lastStream: number } | undefined;
  send(...frames: Buffer[]): void;
}

/** Opens a TCP connection to an h2c listener and sends the preface and empty SETTINGS. */
export function rawH2(port: number): Promise<RawH2Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const frames: ReceivedFrame[] = [];
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        frames.push({
          type: buffer[3]!,
          flags: buffer[4]!,
          stream: buffer.readUInt32BE(5) & 0x7fffffff,
          payload: Buffer.from(buffer.subarray(9, 9 + length)),
        });
        buffer = buffer.subarray(9 + length);
      }
    });
    // A server that closes on a flood may reset the connection while frames are in flight.
    socket.on("error", () => {});
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.once("connect", () => {
      socket.write(Buffer.concat([preface, settings()]));
      resolve({
        socket,
        frames,
        closed,
        goaway() {
          const goaway = frames.find((received) => received.type === frameType.goaway);
          if (!goaway) return undefined;
          return {
            lastStream: goaway.payload.readUInt32BE(0) & 0x7fffffff,
            code: goaway.payload.readUInt32BE(4),
          };
        },
        send: (...parts) => socket.write(Buffer.concat(parts)),
      });
    });
    socket.once("error", reject);
  });
}
