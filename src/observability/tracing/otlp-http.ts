/**
 * @module observability/tracing/otlp-http
 * Sends encoded export requests to an OTLP/HTTP traces endpoint (JSON encoding) over a
 * kept-alive connection of its own, retrying as the OTLP specification asks: on 429, 502,
 * 503, 504 and network errors, after an exponential backoff with jitter or the collector's
 * `Retry-After`, never on another refusal. All tries of one export share `exportTimeout`,
 * so a collector that is down costs one export at most that long, and at most six tries.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { gatehouseVersion } from "../../version.ts";

/** The retry limits of OpenTelemetry's OTLP exporters, so the behaviour is the one users knew. */
const maxRetries = 5;
const initialBackoff = 1000;
const maxBackoff = 5000;
const backoffMultiplier = 1.5;
/** Each wait is its backoff ± 20%, so gateways refused together do not come back together. */
const jitter = 0.2;

const retryableStatuses = new Set([429, 502, 503, 504]);
/** Failures to reach the collector at all: it may be restarting or briefly unreachable. */
const retryableNetworkErrors = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Time as the retries see it; tests give one that does not sleep. */
export interface RetryClock {
  now(): number;
  /** Resolves after `ms`; must not keep the process alive (the gateway's stop is not held). */
  sleep(ms: number): Promise<void>;
}

const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => sleep(ms, undefined, { ref: false }),
};

/** One try's result: done, worth another try (after `retryAfter` ms when the collector said), or not. */
type TryResult = { done: true } | { done: false; retryable: boolean; retryAfter?: number };

/** `Retry-After` in milliseconds (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(
  value: string | string[] | undefined,
  now: number,
): number | undefined {
  if (typeof value !== "string") return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class OtlpHttpSender {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #timeout: number;
  readonly #clock: RetryClock;
  /** Tries after the first, over all exports. */
  retries = 0;
  /** Once stopping: when every export, and its retries, must be over. */
  #stopBy = Number.POSITIVE_INFINITY;

  constructor(
    endpoint: string,
    headers: Record<string, string>,
    exportTimeout: number,
    clock: RetryClock = realClock,
  ) {
    const url = new URL(endpoint);
    // One export is under way at a time; a second connection covers a stuck first one.
    this.#pool = new Pool(url.origin, { connections: 2 });
    this.#path = `${url.pathname}${url.search}`;
    this.#headers = {
      "user-agent": `gatehouse/${gatehouseVersion}`,
      ...headers,
      "content-type": "application/json",
    };
    this.#timeout = exportTimeout;
    this.#clock = clock;
  }

  /**
   * The gateway is stopping: the exports still to come, and the retries of the one under
   * way, share one `exportTimeout` from now, so a collector that is down delays the stop
   * by that much at most however many batches are queued.
   */
  stopping(): void {
    this.#stopBy = Math.min(this.#stopBy, this.#clock.now() + this.#timeout);
  }

  /** Sends one export request, retrying within `exportTimeout`; true when the collector took it. */
  async send(body: Buffer): Promise<boolean> {
    const deadline = Math.min(this.#clock.now() + this.#timeout, this.#stopBy);
    let backoff = initialBackoff;
    let result = await this.#try(body, deadline - this.#clock.now());
    for (let retry = 0; !result.done && result.retryable && retry < maxRetries; retry++) {
      const wait = Math.round(
        result.retryAfter ?? Math.min(backoff * (1 + (Math.random() * 2 - 1) * jitter), maxBackoff),
      );
      backoff *= backoffMultiplier;
      const left = Math.min(deadline, this.#stopBy) - this.#clock.now();
      if (wait >= left) break; // the budget would be spent waiting: give up now
      await this.#clock.sleep(wait);
      this.retries++;
      result = await this.#try(body, Math.min(deadline, this.#stopBy) - this.#clock.now());
    }
    return result.done;
  }

  async #try(body: Buffer, timeout: number): Promise<TryResult> {
    if (timeout <= 0) return { done: false, retryable: false };
    try {
      const res = await this.#pool.request({
        method: "POST",
        path: this.#path,
        headers: this.#headers,
        body,
        signal: AbortSignal.timeout(Math.ceil(timeout)),
      });
      await res.body.dump();
      if (res.statusCode < 300) return { done: true };
      if (!retryableStatuses.has(res.statusCode)) return { done: false, retryable: false };
      const retryAfter = retryAfterMs(res.headers["retry-after"], this.#clock.now());
      return { done: false, retryable: true, retryAfter };
    } catch (error) {
      // A timed-out try has spent the export's budget; only network errors are retried.
      const code = (error as { code?: unknown }).code;
      return {
        done: false,
        retryable: typeof code === "string" && retryableNetworkErrors.has(code),
      };
    }
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
