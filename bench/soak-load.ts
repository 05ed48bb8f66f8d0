/**
 * @module bench/soak-load
 * The soak's HTTP load: a bounded undici client that sends the request mix at a fixed
 * rate with a cap on requests in flight, and hands out what finished in each interval
 * (latencies, wrong answers with their time) so p99 and errors are per slice.
 */
import { Pool } from "undici";
import { soakRequest } from "./soak-traffic.ts";

/** A request that got a wrong answer, or none. */
export interface SoakFailure {
  /** Epoch ms when it ended. */
  at: number;
  /** The request kind and what went wrong, e.g. `order: status 502`, `public: ECONNRESET`. */
  what: string;
}

/** What finished since the previous slice. */
export interface LoadSlice {
  latenciesMs: number[];
  failures: SoakFailure[];
  /** Answers refused on purpose (401 without a key, 429 past the tight limit, 404). */
  refused: number;
  /** Ticks where the in-flight cap was reached and requests were not sent. */
  skipped: number;
}

export interface SoakLoadOptions {
  /** Requests per second sent. */
  rate: number;
  /** At most this many in flight (and this many connections). */
  concurrency: number;
}

const tickMs = 20;
const requestTimeoutMs = 15_000;

export class SoakLoad {
  readonly #pool: Pool;
  readonly #options: SoakLoadOptions;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  #sent = 0;
  #credit = 0;
  #slice: LoadSlice = emptySlice();

  constructor(url: string, options: SoakLoadOptions) {
    this.#options = options;
    this.#pool = new Pool(url, {
      connections: options.concurrency,
      headersTimeout: requestTimeoutMs,
      bodyTimeout: requestTimeoutMs,
    });
  }

  start(): void {
    const perTick = (this.#options.rate * tickMs) / 1000;
    this.#timer = setInterval(() => {
      this.#credit = Math.min(this.#credit + perTick, perTick * 5);
      while (this.#credit >= 1) {
        this.#credit -= 1;
        if (this.#inFlight.size >= this.#options.concurrency) {
          this.#slice.skipped++;
          continue;
        }
        const sending = this.#send(this.#sent++);
        this.#inFlight.add(sending);
        void sending.finally(() => this.#inFlight.delete(sending));
      }
    }, tickMs);
  }

  /** What finished since the last call. */
  takeSlice(): LoadSlice {
    const slice = this.#slice;
    this.#slice = emptySlice();
    return slice;
  }

  /** Stops sending, waits (bounded) for what is in flight, closes the connections. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.race([
      Promise.allSettled(this.#inFlight),
      new Promise((resolve) => setTimeout(resolve, requestTimeoutMs)),
    ]);
    await this.#pool.destroy();
  }

  async #send(n: number): Promise<void> {
    const request = soakRequest(n);
    const started = performance.now();
    let problem: string | undefined;
    let refused = false;
    try {
      const answer = await this.#pool.request({
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body,
      });
      await answer.body.dump({ limit: 1 << 20 });
      if (!request.expected.includes(answer.statusCode)) {
        problem = `status ${answer.statusCode}`;
      } else if (request.encoding && answer.headers["content-encoding"] !== request.encoding) {
        problem = `content-encoding ${String(answer.headers["content-encoding"])}`;
      } else {
        refused = answer.statusCode >= 400;
      }
    } catch (error) {
      problem = (error as { code?: string }).code ?? (error as Error).message;
    }
    this.#slice.latenciesMs.push(performance.now() - started);
    if (problem) this.#slice.failures.push({ at: Date.now(), what: `${request.kind}: ${problem}` });
    else if (refused) this.#slice.refused++;
  }
}

function emptySlice(): LoadSlice {
  return { latenciesMs: [], failures: [], refused: 0, skipped: 0 };
}

/** The `q` quantile (0-1) of some numbers, nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
