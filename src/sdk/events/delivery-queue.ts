/**
 * @module sdk/events/delivery-queue
 * Between a consumer and its handlers: messages the broker has delivered wait here and run
 * at most `concurrency` at a time. While a message waits or runs, its ack wait is restarted
 * (`working()`) every third of it, so a slow handler or a full queue is not mistaken for a
 * dead consumer. A consumer that asks the broker for no more than `free()` slots has nothing
 * waiting here; what waits when the queue stops is handed back at once (nak without delay)
 * instead of sitting until its ack wait runs out.
 */
import type { IncomingMessage } from "./transport.ts";

/** Runs delivered messages through `onMessage`, `concurrency` at a time. */
export class DeliveryQueue {
  readonly #waiting: IncomingMessage[] = [];
  readonly #running = new Set<IncomingMessage>();
  readonly #idle = new Set<() => void>();
  readonly #freed = new Set<() => void>();
  readonly #concurrency: number;
  readonly #onMessage: (message: IncomingMessage) => Promise<void>;
  readonly #heartbeat: NodeJS.Timeout;
  #stopped = false;

  constructor(
    concurrency: number,
    ackWaitMs: number,
    onMessage: (message: IncomingMessage) => Promise<void>,
  ) {
    this.#concurrency = concurrency;
    this.#onMessage = onMessage;
    this.#heartbeat = setInterval(() => this.#keepAlive(), Math.max(50, ackWaitMs / 3));
    this.#heartbeat.unref();
  }

  /** Messages waiting or running. */
  get size(): number {
    return this.#waiting.length + this.#running.size;
  }

  /**
   * How many more messages would run at once without waiting: resolves once that is more
   * than none, or with 0 once the queue stops.
   */
  async free(): Promise<number> {
    for (;;) {
      if (this.#stopped) return 0;
      const free = this.#concurrency - this.size;
      if (free > 0) return free;
      await new Promise<void>((resolve) => this.#freed.add(resolve));
    }
  }

  /** Queues a delivered message (handed back at once once stopped). */
  push(message: IncomingMessage): void {
    if (this.#stopped) {
      message.nak(0);
      return;
    }
    this.#waiting.push(message);
    this.#next();
  }

  /** Hands back the waiting messages and resolves once none is running. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    this.#wakeFree();
    for (const message of this.#waiting.splice(0)) message.nak(0);
    if (this.#running.size > 0) await new Promise<void>((resolve) => this.#idle.add(resolve));
  }

  #next(): void {
    while (this.#running.size < this.#concurrency && this.#waiting.length > 0) {
      const message = this.#waiting.shift()!;
      this.#running.add(message);
      this.#onMessage(message).finally(() => {
        this.#running.delete(message);
        if (this.#running.size === 0 && this.#stopped) {
          for (const wake of this.#idle) wake();
          this.#idle.clear();
        }
        this.#next();
        this.#wakeFree();
      });
    }
  }

  #wakeFree(): void {
    for (const wake of this.#freed) wake();
    this.#freed.clear();
  }

  #keepAlive(): void {
    for (const message of this.#running) message.working();
    for (const message of this.#waiting) message.working();
  }
}
