/**
 * @module upstream/clock
 * Time as the upstream layer sees it, injectable so breakers, ejections and health
 * checks are tested by moving a clock rather than by sleeping.
 */

/** Monotonic milliseconds. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
}

/** The real clock: performance.now() and unref'd timers (they never hold the process open). */
export const systemClock: Clock = {
  now: () => performance.now(),
  schedule(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** A clock tests move by hand: `advance(ms)` runs every task that falls due, in order. */
export class ManualClock implements Clock {
  #now = 0;
  #tasks: { at: number; fn: () => void; id: number }[] = [];
  #nextId = 0;

  now(): number {
    return this.#now;
  }

  /** How many tasks are scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.#tasks.length;
  }

  schedule(fn: () => void, ms: number): () => void {
    const id = this.#nextId++;
    this.#tasks.push({ at: this.#now + Math.max(0, ms), fn, id });
    return () => {
      this.#tasks = this.#tasks.filter((task) => task.id !== id);
    };
  }

  /** Moves time forward, running due tasks (and tasks they schedule) at their own times. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      this.#tasks.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.#tasks[0];
      if (!next || next.at > end) break;
      this.#tasks.shift();
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}
