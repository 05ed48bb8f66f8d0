/**
 * @module server/preface-sniff
 * HTTP/1.1 and h2c (HTTP/2 with prior knowledge) on one plaintext port: a connection's
 * first bytes say which. The HTTP/2 connection preface is a request line no HTTP/1.1
 * client sends, so a connection that starts with it is HTTP/2 and any other is HTTP/1.1.
 * The bytes read to decide are put back before the connection is handed on.
 */
import type { Socket } from "node:net";

/** What every HTTP/2 client sends first (RFC 9113 section 3.4). */
const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface PrefaceSniffer {
  /** Serves a connection that does not start with the preface. */
  http1(socket: Socket): void;
  /** Serves a connection that does. */
  http2(socket: Socket): void;
  /**
   * A connection that sent nothing to decide on within `timeout` ms: the same wait an
   * HTTP/1.1 client has for its headers (answered as one that did not send them in time).
   */
  tooSlow(socket: Socket): void;
  timeout: number;
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

/** Returns the connection handler that reads the first bytes and hands each connection on. */
export function sniffPreface(sniffer: PrefaceSniffer): (socket: Socket) => void {
  return function sniff(socket: Socket): void {
    let seen: Buffer | undefined;
    const timer =
      sniffer.timeout > 0
        ? setTimeout(() => {
            stop();
            sniffer.tooSlow(socket);
          }, sniffer.timeout)
        : undefined;
    const stop = () => {
      clearTimeout(timer);
      socket.off("readable", onReadable);
      socket.off("close", stop);
    };
    const onReadable = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const length = Math.min(seen.length, preface.length);
      const isPreface = seen.compare(preface, 0, length, 0, length) === 0;
      // A preface cut short by the network: wait for the rest.
      if (isPreface && seen.length < preface.length) return;
      stop();
      socket.off("error", destroyOnError);
      socket.unshift(seen);
      if (isPreface) sniffer.http2(socket);
      else sniffer.http1(socket);
    };
    // Until a server takes the connection, a reset must not be an uncaught error.
    socket.on("error", destroyOnError);
    socket.on("readable", onReadable);
    socket.once("close", stop);
  };
}
