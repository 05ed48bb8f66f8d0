/**
 * @module sdk/saga/held-sagas
 * The sagas one definition is running in this process, and the timer that renews their
 * leases (every third of the lease). A saga whose renewal finds it taken over is stopped:
 * its step's signal is aborted and its runner writes nothing more.
 */
import type { SagaClock } from "./clock.ts";
import { SagaAbandoned } from "./saga-error.ts";
import type { SagaLog } from "./saga-log.ts";
import type { SagaResult } from "./types.ts";

interface HeldSaga {
  result: Promise<SagaResult>;
  stop: AbortController;
}

/** Owner ids of the definitions open in this process (a PGlite store has no other process). */
export const liveOwners = new Set<string>();

export class HeldSagas {
  readonly #sagas = new Map<string, HeldSaga>();
  readonly #log: SagaLog;
  readonly #clock: SagaClock;
  readonly #leaseMs: number;
  readonly #onError: (error: Error) => void;
  #timer: NodeJS.Timeout | undefined;
  #renewing = false;

  constructor(log: SagaLog, clock: SagaClock, leaseMs: number, onError: (error: Error) => void) {
    this.#log = log;
    this.#clock = clock;
    this.#leaseMs = leaseMs;
    this.#onError = onError;
  }

  /** The result of a saga this process is running, if it is. */
  result(id: string): Promise<SagaResult> | undefined {
    return this.#sagas.get(id)?.result;
  }

  /** Runs `drive` for a saga just claimed, renewing its lease until it settles. */
  hold(
    id: string,
    stopAlso: AbortSignal,
    drive: (stop: AbortSignal) => Promise<SagaResult>,
  ): Promise<SagaResult> {
    const stop = new AbortController();
    const result = drive(AbortSignal.any([stop.signal, stopAlso]));
    const release = () => {
      this.#sagas.delete(id);
      if (this.#sagas.size === 0) this.#stopTimer();
    };
    this.#sagas.set(id, { result, stop });
    result.then(release, release);
    this.#timer ??= setInterval(() => void this.#renew(), this.#leaseMs / 3).unref();
    return result;
  }

  /** The ids of the sagas held now. */
  ids(): string[] {
    return [...this.#sagas.keys()];
  }

  /** Resolves once every saga held now has settled, or after `ms`. */
  async settled(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    const results = [...this.#sagas.values()].map((saga) => saga.result);
    await Promise.race([Promise.allSettled(results), timeUp]);
    clearTimeout(timer);
  }

  /** Stops renewing; waits for every held saga's runner to stop (the caller aborted them). */
  async close(): Promise<void> {
    this.#stopTimer();
    await Promise.allSettled([...this.#sagas.values()].map((saga) => saga.result));
  }

  #stopTimer() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #renew(): Promise<void> {
    if (this.#renewing || this.#sagas.size === 0) return;
    this.#renewing = true;
    try {
      const ids = [...this.#sagas.keys()];
      const held = await this.#log.renew(ids, this.#clock.now() + this.#leaseMs);
      for (const id of ids) {
        // Settled since the renewal started, or truly lost to another process.
        if (held.has(id)) continue;
        this.#sagas
          .get(id)
          ?.stop.abort(new SagaAbandoned(`saga ${id} was taken over by another process`));
      }
    } catch (error) {
      // The store is unreachable: the runner's next write will fail or succeed on its own.
      this.#onError(error as Error);
    } finally {
      this.#renewing = false;
    }
  }
}
