/**
 * @module sdk/sync-latch
 * Whether an instance source has had the registry's first answer, and the calls waiting
 * for it, each for no longer than its own timeout. Both sources (the registry API's
 * stream, etcd) keep one.
 */

/** Opens once, at the registry's first answer; waits end then, when the source stops, or at their timeout. */
export class SyncLatch {
  #open = false;
  #stopped = false;
  readonly #waiters = new Set<() => void>();

  /** Whether the first answer came. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Resolves once open, or after `timeoutMs`, whichever comes first; at once if stopped. */
  wait(timeoutMs: number): Promise<void> {
    if (this.#open || this.#stopped || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#waiters.add(done);
    });
  }

  /** The first answer came: every wait ends. */
  open(): void {
    this.#open = true;
    this.#wakeAll();
  }

  /** The source stopped: every wait ends, and later ones end at once. */
  stop(): void {
    this.#stopped = true;
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
