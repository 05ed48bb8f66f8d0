/**
 * @module test/helpers/raw-connection
 * One raw TCP connection that can carry several requests, for keep-alive and pipelining
 * cases: write bytes verbatim, read one whole response at a time, see when it closes.
 */
import { connect, type Socket } from "node:net";

export interface ParsedResponse {
  status: number;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** A client connection to `port` on 127.0.0.1. */
export class RawConnection {
  readonly #socket: Socket;
  #buffer = "";
  #closed = false;
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
  }

  /** Opens the connection. */
  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.off("error", reject);
        resolve(new RawConnection(socket));
      });
      socket.once("error", reject);
    });
  }

  /** Whether the peer has closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes bytes verbatim. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#socket.write(data, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** Reads the next whole response (Content-Length, chunked, or until close). */
  async readResponse(timeoutMs = 2000): Promise<ParsedResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.#take();
      if (parsed) return parsed;
      if (this.#closed) throw new Error(`connection closed; had: ${JSON.stringify(this.#buffer)}`);
      await this.#wait(deadline - Date.now());
      if (Date.now() >= deadline)
        throw new Error(
          `no whole response in ${timeoutMs}ms; had: ${JSON.stringify(this.#buffer)}`,
        );
    }
  }

  /** Resolves true once the peer closes, false if it is still open after `timeoutMs`. */
  async waitClosed(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) await this.#wait(deadline - Date.now());
    return this.#closed;
  }

  /** Whatever was received and not yet taken as a response. */
  get pending(): string {
    return this.#buffer;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(ms, 0));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #take(): ParsedResponse | undefined {
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end === -1) return undefined;
    const [statusLine = "", ...lines] = this.#buffer.slice(0, end).split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const rest = this.#buffer.slice(end + 4);
    let body: string;
    let used: number;
    if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
      body = "";
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf("\r\n", at);
        if (lineEnd === -1) return undefined;
        const size = Number.parseInt(rest.slice(at, lineEnd), 16);
        if (size === 0) {
          const trailerEnd = rest.indexOf("\r\n\r\n", lineEnd);
          if (trailerEnd === -1 && rest.slice(lineEnd, lineEnd + 4) !== "\r\n\r\n")
            return undefined;
          used = (trailerEnd === -1 ? lineEnd : trailerEnd) + 4;
          break;
        }
        if (rest.length < lineEnd + 2 + size + 2) return undefined;
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        at = lineEnd + 2 + size + 2;
      }
    } else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (rest.length < length) return undefined;
      body = rest.slice(0, length);
      used = length;
    } else if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = "";
      used = 0;
    } else {
      if (!this.#closed) return undefined;
      body = rest;
      used = rest.length;
    }
    this.#buffer = rest.slice(used);
    return { status, headers, body };
  }
}
