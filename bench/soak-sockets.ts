/**
 * @module bench/soak-sockets
 * The soak's WebSocket traffic: a few clients tunnelled through the gateway's `/ws`
 * route, each sending a message every second and expecting its echo. A tunnel that
 * closes, or an echo that does not come, is recorded with its time (a killed target
 * closes the tunnels it carried: expected; a reload must not) and the client reconnects.
 */
import WebSocket from "ws";
import type { SoakFailure } from "./soak-load.ts";

const messageEveryMs = 1_000;
const echoTimeoutMs = 5_000;
const reconnectAfterMs = 500;

/** What the clients saw since the previous slice. */
export interface SocketSlice {
  echoes: number;
  failures: SoakFailure[];
}

export class SoakSockets {
  readonly #url: string;
  readonly #clients: number;
  #stopped = false;
  #open = new Set<WebSocket>();
  #timers = new Set<NodeJS.Timeout>();
  #slice: SocketSlice = { echoes: 0, failures: [] };

  constructor(url: string, clients: number) {
    this.#url = url;
    this.#clients = clients;
  }

  start(): void {
    for (let i = 0; i < this.#clients; i++) this.#connect(i);
  }

  takeSlice(): SocketSlice {
    const slice = this.#slice;
    this.#slice = { echoes: 0, failures: [] };
    return slice;
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    for (const socket of this.#open) socket.terminate();
  }

  #later(run: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  #fail(what: string): void {
    if (!this.#stopped) this.#slice.failures.push({ at: Date.now(), what: `ws: ${what}` });
  }

  #connect(client: number): void {
    if (this.#stopped) return;
    const socket = new WebSocket(this.#url, { handshakeTimeout: echoTimeoutMs });
    this.#open.add(socket);
    let waiting: { text: string; sentAt: number } | undefined;
    let sent = 0;
    let finished = false;
    const finish = (what: string) => {
      if (finished) return;
      finished = true;
      this.#open.delete(socket);
      this.#fail(what);
      socket.terminate();
      this.#later(() => this.#connect(client), reconnectAfterMs);
    };
    const send = () => {
      if (finished || this.#stopped) return;
      if (waiting && Date.now() - waiting.sentAt > echoTimeoutMs) return finish("echo timeout");
      if (!waiting) {
        waiting = { text: `soak ${client} ${sent++}`, sentAt: Date.now() };
        socket.send(waiting.text);
      }
      this.#later(send, messageEveryMs);
    };
    socket.on("open", send);
    socket.on("message", (data) => {
      if (waiting && data.toString() === waiting.text) {
        waiting = undefined;
        this.#slice.echoes++;
      }
    });
    socket.on("error", (error) => finish((error as { code?: string }).code ?? error.message));
    socket.on("close", (code) => finish(`closed ${code}`));
  }
}
