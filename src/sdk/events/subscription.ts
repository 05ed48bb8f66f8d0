/**
 * @module sdk/events/subscription
 * One `bus.subscribe()`: what happens to each delivery, the same on both transports.
 *
 * ```
 * delivery → data not JSON? ──────────────────────────────→ dead letter, term
 *          → [db: BEGIN, insert inbox row; there already? → COMMIT, ack]
 *          → beyond maxDeliver? (earlier ones never settled) → dead letter, term
 *          → handler(event, tx) in the event's trace and request id
 *              ok     → [COMMIT] → ack
 *              term() → [ROLLBACK] → dead letter with the reason, term
 *              throws → [ROLLBACK] → maxDeliver reached? dead letter, term : nak(backoff)
 * ```
 * A dead letter that cannot be published is retried as a failure would be (nak). With a db,
 * the durable's inbox rows older than `inboxRetention` are deleted (retention.ts).
 */
import type { Transaction } from "../store/store.ts";
import { thrownError } from "../thrown-error.ts";
import {
  type DeadLetter,
  type DeadLetterCode,
  deadLetterId,
  deadLetterSubject,
} from "./dead-letter.ts";
import { handlingSpan } from "./event-context.ts";
import {
  ackedTotal,
  deadLetteredTotal,
  deliveredTotal,
  redeliveredTotal,
  watchLag,
} from "./event-metrics.ts";
import type { DeliveredEvent, EventHandler, Subscription } from "./event-types.ts";
import { backoffDelay, type ResolvedSubscribeOptions } from "./events-options.ts";
import { claimInbox } from "./inbox.ts";
import { pruneEvery, pruneInbox, pruneIntervalMs } from "./retention.ts";
import type { IncomingMessage, Transport, TransportConsumer } from "./transport.ts";

/** What a subscription needs of its bus. */
export interface SubscriptionHost {
  transport: Transport;
  /**
   * Creates or checks the stream of `subject` (a filter); returns its name. `again`: the
   * broker lost it, create it even if it was created before.
   */
  streamOf(subject: string, again?: boolean): Promise<string>;
  /** Publishes a dead letter with its dedup id. */
  publishDeadLetter(subject: string, letter: DeadLetter, id: string): Promise<void>;
}

/** A dead-letter verdict reached inside the handling (after the inbox check). */
class GiveUp extends Error {
  readonly code: DeadLetterCode;
  constructor(code: DeadLetterCode, message: string) {
    super(message);
    this.code = code;
  }
}

const decoder = new TextDecoder();

/** Starts a subscription; deliveries flow once its `ready` resolves. */
export function startSubscription<T>(
  host: SubscriptionHost,
  options: ResolvedSubscribeOptions,
  handler: EventHandler<T>,
): Subscription {
  const { durable, db } = options;
  let consumer: TransportConsumer | undefined;
  let unwatch: (() => void) | undefined;
  let stopPruning: (() => Promise<void>) | undefined;
  let closed = false;

  const deadLetter = async (
    message: IncomingMessage,
    event: Omit<DeliveredEvent, "term">,
    error: DeadLetter["error"],
  ): Promise<void> => {
    try {
      await host.publishDeadLetter(
        deadLetterSubject(durable),
        { event, error },
        deadLetterId(durable, event.id, message.seq),
      );
    } catch {
      message.nak(backoffDelay(options, message.deliveryCount));
      return;
    }
    message.term(error.message);
    deadLetteredTotal.inc({ durable });
  };

  const onMessage = async (message: IncomingMessage): Promise<void> => {
    deliveredTotal.inc({ durable });
    if (message.deliveryCount > 1) redeliveredTotal.inc({ durable });
    const id = message.headers["Nats-Msg-Id"] || `${message.subject}:${message.seq}`;
    const base = {
      id,
      subject: message.subject,
      data: undefined as unknown,
      headers: message.headers,
      deliveryCount: message.deliveryCount,
    };
    try {
      base.data = JSON.parse(decoder.decode(message.data));
    } catch (error) {
      const reason = `data is not JSON: ${(error as Error).message}`;
      await deadLetter(message, base, { message: reason, code: "GATEHOUSE_EVENTS_INVALID_DATA" });
      return;
    }
    let termReason: string | undefined;
    const event: DeliveredEvent<T> = {
      ...base,
      data: base.data as T,
      term(reason = "terminated by the handler") {
        termReason = reason;
      },
    };
    const apply = async (tx?: Transaction): Promise<void> => {
      if (message.deliveryCount > options.maxDeliver)
        throw new GiveUp(
          "GATEHOUSE_EVENTS_DELIVERY_EXHAUSTED",
          `delivered ${message.deliveryCount} times without being settled (maxDeliver ${options.maxDeliver}): the handler never finished`,
        );
      await handler(event, tx);
      if (termReason !== undefined) throw new GiveUp("GATEHOUSE_EVENTS_TERMINATED", termReason);
    };
    const span = handlingSpan(message.subject, id, durable, message.headers);
    try {
      await span.run(async () => {
        if (!db) return apply();
        await db.transaction(async (tx) => {
          if (await claimInbox(db, tx, durable, id, message.subject)) await apply(tx);
        });
      });
      span.end();
    } catch (error) {
      span.end(error);
      if (error instanceof GiveUp) {
        await deadLetter(message, base, { message: error.message, code: error.code });
      } else if (termReason !== undefined) {
        await deadLetter(message, base, {
          message: termReason,
          code: "GATEHOUSE_EVENTS_TERMINATED",
        });
      } else if (message.deliveryCount >= options.maxDeliver) {
        await deadLetter(message, base, thrownError(error));
      } else {
        message.nak(backoffDelay(options, message.deliveryCount));
      }
      return;
    }
    message.ack();
    ackedTotal.inc({ durable });
  };

  const ready = (async () => {
    const stream = await host.streamOf(options.subject);
    const started = await host.transport.consume(
      {
        stream,
        durable,
        subject: options.subject,
        ackWaitMs: options.ackWaitMs,
        concurrency: options.concurrency,
        restoreStream: async () => {
          await host.streamOf(options.subject, true);
        },
      },
      onMessage,
    );
    if (closed) {
      await started.stop();
      return;
    }
    consumer = started;
    unwatch = watchLag({ durable, pending: () => started.pending() });
    if (db) {
      const retentionMs = options.inboxRetentionMs;
      stopPruning = pruneEvery(pruneIntervalMs(retentionMs), () =>
        pruneInbox(db, durable, retentionMs),
      );
    }
  })();
  ready.catch(() => {});

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      await ready.catch(() => {});
      unwatch?.();
      await stopPruning?.();
      await consumer?.stop();
    },
  };
}
