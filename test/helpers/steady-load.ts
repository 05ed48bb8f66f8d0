/**
 * @module test/helpers/steady-load
 * Bounded steady traffic for tests that change things under load: keep-alive HTTP workers
 * that check every answer, and WebSocket echo loops that notice a dropped tunnel.
 */
import { once } from "node:events";
import { Agent, request } from "undici";
import { WebSocket } from "ws";

export interface LoadOptions {
  /** Base URL of the gateway, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The path request `n` of worker `w` is sent to. */
  path: (worker: number, n: number) => string;
  /** What a correct answer looks like: returns a description of what is wrong, or undefined. */
  check: (status: number, body: string) => string | undefined;
  workers: number;
  /** Upper bounds: the load stops at whichever comes first, or at `stop()`. */
  maxRequests: number;
  maxMs: number;
}

export interface LoadResult {
  requests: number;
  failures: number;
  /** The first few failures, described. */
  examples: string[];
}

export interface RunningLoad {
  stop(): Promise<LoadResult>;
  /** Requests answered so far. */
  readonly requests: number;
}

/** Starts `workers` keep-alive request loops; `stop()` lets each finish its request and returns. */
export function startLoad(options: LoadOptions): RunningLoad {
  const agent = new Agent({ connections: options.workers, keepAliveTimeout: 10_000 });
  const deadline = Date.now() + options.maxMs;
  const result: LoadResult = { requests: 0, failures: 0, examples: [] };
  let stopped = false;
  const fail = (what: string) => {
    result.failures++;
    if (result.examples.length < 10) result.examples.push(what);
  };
  const worker = async (w: number) => {
    for (let n = 0; !stopped && result.requests < options.maxRequests; n++) {
      if (Date.now() > deadline) break;
      const path = options.path(w, n);
      try {
        const res = await request(`${options.url}${path}`, { dispatcher: agent });
        const problem = options.check(res.statusCode, await res.body.text());
        if (problem) fail(`GET ${path}: ${problem}`);
      } catch (error) {
        fail(`GET ${path}: ${(error as Error).message}`);
      }
      result.requests++;
    }
  };
  const done = Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  return {
    get requests() {
      return result.requests;
    },
    async stop() {
      stopped = true;
      await done;
      await agent.close();
      return result;
    },
  };
}

export interface EchoLoop {
  /** Stops sending; resolves with how many round trips went through and what went wrong. */
  stop(): Promise<{ roundTrips: number; problems: string[] }>;
}

/**
 * Sends a message through `socket` every `everyMs` and expects `echo:<message>` back within
 * `timeoutMs`; a close or a missing echo is recorded as a problem.
 */
export function startEchoLoop(socket: WebSocket, everyMs: number, timeoutMs = 2_000): EchoLoop {
  const problems: string[] = [];
  let roundTrips = 0;
  let stopped = false;
  const onClose = (code: number) => problems.push(`tunnel closed with ${code}`);
  socket.on("close", onClose);
  const loop = (async () => {
    for (let n = 0; !stopped && problems.length === 0; n++) {
      const text = `m${n}`;
      const reply = once(socket, "message", { signal: AbortSignal.timeout(timeoutMs) });
      socket.send(text);
      try {
        const [data] = await reply;
        if (String(data) !== `echo:${text}`) problems.push(`sent ${text}, got ${String(data)}`);
        else roundTrips++;
      } catch {
        problems.push(`no echo of ${text} within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      socket.off("close", onClose);
      return { roundTrips, problems };
    },
  };
}

/** Opens a WebSocket and waits for the handshake (bounded). */
export async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  await once(socket, "open", { signal: AbortSignal.timeout(5_000) });
  return socket;
}

/** One round trip: sends `text`, resolves with the reply. */
export async function echoOnce(socket: WebSocket, text: string): Promise<string> {
  const reply = once(socket, "message", { signal: AbortSignal.timeout(5_000) });
  socket.send(text);
  return String((await reply)[0]);
}
