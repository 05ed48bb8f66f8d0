/**
 * @module stores/shared-deadline
 * The bound on how long a request waits for a store: every call made in the same
 * event-loop turn shares one deadline, `ms` after the turn's first call, and a call not
 * settled by then is given up on (the store's client keeps its own timeout to retire the
 * command).
 *
 * Why the store needs its own: a client's per-command timeout starts when the command is
 * written, and a client may hold a command back. ioredis's auto-pipelining writes one
 * pipeline at a time per connection, so with a frozen Redis the commands of the next
 * turns wait unsent until the first pipeline times out, then time out themselves: up to
 * twice the timeout. One timer per turn rather than per call keeps the hot path cheap.
 */
import { type Clock, systemClock } from "../upstream/clock.ts";

/** What `within` answers for a call that did not settle in time. */
export const timedOut: unique symbol = Symbol("timed out");

export class SharedDeadline {
  readonly #ms: number;
  readonly #clock: Clock;
  /** This turn's deadline, shared by its calls; undefined until a call comes. */
  #expiry: Promise<typeof timedOut> | undefined;
  readonly #endTurn = (): void => {
    this.#expiry = undefined;
  };

  constructor(ms: number, clock: Clock = systemClock) {
    this.#ms = ms;
    this.#clock = clock;
  }

  /** `work`'s outcome, or `timedOut` if it has not settled by this turn's deadline. */
  within<T>(work: Promise<T>): Promise<T | typeof timedOut> {
    let expiry = this.#expiry;
    if (expiry === undefined) {
      expiry = new Promise((resolve) => {
        this.#clock.schedule(() => resolve(timedOut), this.#ms);
      });
      this.#expiry = expiry;
      setImmediate(this.#endTurn);
    }
    return Promise.race([work, expiry]);
  }
}
