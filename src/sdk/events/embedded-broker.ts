/**
 * @module sdk/events/embedded-broker
 * The in-process broker behind the embedded transport: JetStream's semantics in memory, for
 * one process. Streams keep their last messages (100,000 each) and drop a second publish of
 * an id within the duplicate window; durable consumers start at the stream's first message,
 * hand out at most `concurrency` deliveries at a time, and redeliver what is nakked (after
 * its delay) or not settled within the ack wait. Each message knows which durables matched
 * it when it was published and says when all of them have settled it, which is when the
 * outbox relay may mark its row published.
 */
import type { StreamDeclaration } from "./event-types.ts";
import { EventsError } from "./events-error.ts";
import { subjectMatches } from "./subjects.ts";
import type { IncomingMessage, OutgoingMessage, PublishReceipt } from "./transport.ts";

/** Messages a stream keeps; older ones are dropped, as JetStream's `max_msgs` would. */
const maxMessages = 100_000;

interface StoredMessage {
  seq: number;
  message: OutgoingMessage;
  /** Durables that matched it when it was published and have not settled it. */
  waiting: Set<string>;
  settled: () => void;
}

class EmbeddedStream {
  readonly name: string;
  subjects: string[];
  duplicateWindowMs: number;
  readonly consumers = new Map<string, EmbeddedConsumer>();
  readonly #messages: StoredMessage[] = [];
  readonly #ids = new Map<string, number>();
  #lastSeq = 0;

  constructor(declaration: StreamDeclaration, duplicateWindowMs: number) {
    this.name = declaration.name;
    this.subjects = [...declaration.subjects];
    this.duplicateWindowMs = duplicateWindowMs;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  at(seq: number): StoredMessage | undefined {
    const first = this.#messages[0]?.seq ?? this.#lastSeq + 1;
    return this.#messages[seq - first];
  }

  publish(message: OutgoingMessage): PublishReceipt {
    const now = Date.now();
    for (const [id, expires] of this.#ids) {
      if (expires > now) break;
      this.#ids.delete(id);
    }
    if (this.#ids.has(message.id)) return { duplicate: true };
    this.#ids.set(message.id, now + this.duplicateWindowMs);
    const waiting = new Set<string>();
    for (const consumer of this.consumers.values()) {
      if (subjectMatches(consumer.filter, message.subject)) waiting.add(consumer.durable);
    }
    let settled!: () => void;
    const done = new Promise<void>((resolve) => {
      settled = resolve;
    });
    const stored = { seq: ++this.#lastSeq, message, waiting, settled };
    this.#messages.push(stored);
    if (this.#messages.length > maxMessages) this.#messages.shift();
    if (waiting.size === 0) settled();
    for (const consumer of this.consumers.values()) consumer.wake();
    return { duplicate: false, settled: done };
  }
}

/** A durable consumer of a stream, alive for the life of the process. */
export class EmbeddedConsumer {
  readonly durable: string;
  filter: string;
  ackWaitMs = 30_000;
  readonly #stream: EmbeddedStream;
  #nextSeq = 1;
  readonly #counts = new Map<number, number>();
  readonly #outstanding = new Map<number, NodeJS.Timeout>();
  readonly #delayed = new Map<number, NodeJS.Timeout>();
  #due: number[] = [];
  #listener: ((message: IncomingMessage) => void) | undefined;
  #capacity = 1;
  #pumping = false;

  constructor(stream: EmbeddedStream, durable: string, filter: string) {
    this.#stream = stream;
    this.durable = durable;
    this.filter = filter;
  }

  /**
   * Starts delivering to `listener`, at most `capacity` unsettled at a time. One listener
   * per durable: a second subscription of the same durable in the process takes over.
   */
  attach(listener: (message: IncomingMessage) => void, capacity: number): void {
    this.#listener = listener;
    this.#capacity = capacity;
    this.wake();
  }

  /** Stops delivering to `listener` (a later attach of another listener stays). */
  detach(listener: (message: IncomingMessage) => void): void {
    if (this.#listener === listener) this.#listener = undefined;
  }

  /** Messages stored for it and not settled. */
  pending(): number {
    let ahead = 0;
    for (let seq = this.#nextSeq; seq <= this.#stream.lastSeq; seq++) {
      const stored = this.#stream.at(seq);
      if (stored && subjectMatches(this.filter, stored.message.subject)) ahead++;
    }
    return ahead + this.#outstanding.size + this.#delayed.size + this.#due.length;
  }

  /** Delivers what it can, on a later tick (never inside the publish that woke it). */
  wake(): void {
    if (this.#pumping || !this.#listener) return;
    this.#pumping = true;
    queueMicrotask(() => {
      this.#pumping = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#listener && this.#outstanding.size < this.#capacity) {
      const seq = this.#due.shift() ?? this.#nextNew();
      if (seq === undefined) return;
      const stored = this.#stream.at(seq);
      if (!stored) {
        this.#counts.delete(seq);
        continue;
      }
      this.#deliver(stored, this.#listener);
    }
  }

  #nextNew(): number | undefined {
    while (this.#nextSeq <= this.#stream.lastSeq) {
      const stored = this.#stream.at(this.#nextSeq++);
      if (stored && subjectMatches(this.filter, stored.message.subject)) return stored.seq;
    }
    return undefined;
  }

  #deliver(stored: StoredMessage, listener: (message: IncomingMessage) => void): void {
    const { seq, message } = stored;
    const deliveryCount = (this.#counts.get(seq) ?? 0) + 1;
    this.#counts.set(seq, deliveryCount);
    this.#outstanding.set(seq, this.#ackTimer(seq));
    listener({
      subject: message.subject,
      data: message.data,
      headers: { ...message.headers },
      seq,
      deliveryCount,
      ack: () => this.#settle(stored),
      term: () => this.#settle(stored),
      nak: (delayMs) => this.#redeliver(seq, delayMs),
      working: () => {
        const timer = this.#outstanding.get(seq);
        if (timer) timer.refresh();
      },
    });
  }

  #ackTimer(seq: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#redeliver(seq, 0), this.ackWaitMs);
    timer.unref();
    return timer;
  }

  #settle(stored: StoredMessage): void {
    const timer = this.#outstanding.get(stored.seq);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#outstanding.delete(stored.seq);
    this.#counts.delete(stored.seq);
    stored.waiting.delete(this.durable);
    if (stored.waiting.size === 0) stored.settled();
    this.wake();
  }

  #redeliver(seq: number, delayMs: number): void {
    const timer = this.#outstanding.get(seq);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#outstanding.delete(seq);
    const due = () => {
      this.#delayed.delete(seq);
      this.#due.push(seq);
      this.#due.sort((a, b) => a - b);
      this.wake();
    };
    if (delayMs <= 0) due();
    else {
      // Like the ack timers: a message waiting out its backoff does not keep the process alive.
      const timer = setTimeout(due, delayMs);
      timer.unref();
      this.#delayed.set(seq, timer);
    }
    this.wake();
  }

  /** Gives up waiting on the messages it no longer matches (its filter changed). */
  refilter(filter: string): void {
    if (filter === this.filter) return;
    this.filter = filter;
    for (let seq = 1; seq <= this.#stream.lastSeq; seq++) {
      const stored = this.#stream.at(seq);
      if (stored?.waiting.has(this.durable) && !subjectMatches(filter, stored.message.subject)) {
        stored.waiting.delete(this.durable);
        if (stored.waiting.size === 0) stored.settled();
      }
    }
  }
}

/** The process's broker: every embedded bus of the process shares it. */
export class EmbeddedBroker {
  readonly #streams = new Map<string, EmbeddedStream>();

  ensureStream(declaration: StreamDeclaration, duplicateWindowMs: number): void {
    const stream = this.#streams.get(declaration.name);
    if (!stream) {
      this.#streams.set(declaration.name, new EmbeddedStream(declaration, duplicateWindowMs));
      return;
    }
    for (const subject of declaration.subjects) {
      if (!stream.subjects.includes(subject)) stream.subjects.push(subject);
    }
  }

  publish(message: OutgoingMessage): PublishReceipt {
    for (const stream of this.#streams.values()) {
      if (stream.subjects.some((filter) => subjectMatches(filter, message.subject)))
        return stream.publish(message);
    }
    throw new EventsError(
      "GATEHOUSE_EVENTS_UNAVAILABLE",
      `publish ${message.subject}: no stream stores this subject`,
    );
  }

  /** The durable consumer, created at the stream's first message when new. */
  consumer(streamName: string, durable: string, filter: string): EmbeddedConsumer {
    const stream = this.#streams.get(streamName);
    if (!stream)
      throw new EventsError("GATEHOUSE_EVENTS_UNAVAILABLE", `stream ${streamName} does not exist`);
    let consumer = stream.consumers.get(durable);
    if (!consumer) {
      consumer = new EmbeddedConsumer(stream, durable, filter);
      stream.consumers.set(durable, consumer);
    } else consumer.refilter(filter);
    return consumer;
  }
}

/** The one broker of this process. */
export const processBroker = new EmbeddedBroker();
