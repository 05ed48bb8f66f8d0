/**
 * @module stores/shared-deadline
 * The bound on how long a request waits for a store: each call is given up on `ms` after
 * it was made, by one timer that sweeps every call in flight on the connection, rather
 * than a timer per call. The store's client does not retire a given-up command (its reply
 * still comes, and is ignored); the caller just stops waiting.
 *
 * Why the store needs its own bound: a client's per-command timeout starts when the command
 * is written, and a client may hold a command back (ioredis's auto-pipelining writes one
 * pipeline at a time per connection, so with a frozen Redis the commands of later turns
 * would wait unsent for the first pipeline to time out, then time out themselves: up to
 * twice the timeout). And a timer per command, set and cleared on every request, is a
 * cost the hot path can do without: calls are made in order and share one timeout, so
 * their deadlines come in order too, and one timer armed for the oldest serves them all.
 */
import { type Clock, systemClock } from "../upstream/clock.ts";

/** What `within` answers for a call that did not settle in time. */
export const timedOut: unique symbol = Symbol("timed out");

/** A call in flight, as the sweep sees it. */
export interface DeadlineCall {
  /** When it is given up on (the clock's milliseconds); set by `track`. */
  expiresAt: number;
  /** Set by whoever settles the call first: its answer, or the sweep. */
  done: boolean;
  /** Called once by the sweep when the call is not done at its deadline (`done` is set). */
  expire(): void;
}

/** Compact the queue once this many settled calls sit at its front. */
const compactAfter = 1024;

export class SharedDeadline {
  readonly #ms: number;
  readonly #clock: Clock;
  /** The calls in the order they were made, from `#head` on; deadlines ascend. */
  #calls: DeadlineCall[] = [];
  #head = 0;
  #armed = false;
  readonly #sweep = (): void => {
    this.#armed = false;
    const now = this.#clock.now();
    const calls = this.#calls;
    let head = this.#head;
    while (head < calls.length) {
      const call = calls[head]!;
      if (!call.done) {
        if (call.expiresAt > now) break;
        call.done = true;
        call.expire();
      }
      head++;
    }
    if (head === calls.length) {
      calls.length = 0;
      head = 0;
    } else if (head >= compactAfter) {
      calls.splice(0, head);
      head = 0;
    }
    this.#head = head;
    if (head < calls.length) this.#arm(calls[head]!.expiresAt - now);
  };

  constructor(ms: number, clock: Clock = systemClock) {
    this.#ms = ms;
    this.#clock = clock;
  }

  /** Gives `call` its deadline, `ms` from now; the sweep expires it unless it is done by then. */
  track(call: DeadlineCall): void {
    call.expiresAt = this.#clock.now() + this.#ms;
    this.#calls.push(call);
    if (!this.#armed) this.#arm(this.#ms);
  }

  /** `work`'s outcome, or `timedOut` if it has not settled `ms` after this call. */
  within<T>(work: Promise<T>): Promise<T | typeof timedOut> {
    return new Promise((resolve, reject) => {
      const call: DeadlineCall = {
        expiresAt: 0,
        done: false,
        expire: () => resolve(timedOut),
      };
      this.track(call);
      work.then(
        (value) => {
          if (call.done) return;
          call.done = true;
          resolve(value);
        },
        (error: unknown) => {
          if (call.done) return;
          call.done = true;
          reject(error);
        },
      );
    });
  }

  #arm(ms: number): void {
    this.#armed = true;
    this.#clock.schedule(this.#sweep, ms);
  }
}
