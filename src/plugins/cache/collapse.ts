/**
 * @module plugins/cache/collapse
 * Request collapsing: of concurrent misses for one key, the first goes upstream (it
 * leads) and the others wait for it to store its answer, then look again. A wait is
 * bounded: a leader that is slow, or whose answer is not storable, lets the others go
 * upstream themselves after the timeout (or as soon as it knows). Per process: nodes
 * sharing Redis each send their own first request.
 */

/** The first miss's hold on its key; `release` once, when waiting for it is of no more use. */
export interface Leader {
  release(): void;
}

export class MissCollapser {
  readonly #waiting = new Map<string, { done: Promise<void>; release: () => void }>();
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Leads the key's misses (a Leader) when no request does; else a promise that settles
   * when the leader released its hold or the timeout passed, whichever comes first.
   */
  join(key: string): Leader | Promise<void> {
    const current = this.#waiting.get(key);
    if (current !== undefined) return this.#bounded(current.done);
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const entry = { done, release };
    this.#waiting.set(key, entry);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (this.#waiting.get(key) === entry) this.#waiting.delete(key);
        release();
      },
    };
  }

  /** Whether collapsing is on (a timeout above 0). */
  get enabled(): boolean {
    return this.#timeoutMs > 0;
  }

  #bounded(done: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#timeoutMs);
      done.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
