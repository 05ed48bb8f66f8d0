/**
 * @module sdk/events/dead-letter
 * What a dead letter says: the event as it was delivered and why it was given up on, on
 * subject `deadletter.<durable>` (stream `deadletter`). Its id is derived from the
 * durable, the event id and the stream sequence, so a dead letter published twice (the
 * process died before the original was terminated) is stored once, while a replayed event
 * that fails again gets a dead letter of its own.
 */

/** Why an event was dead-lettered without its handler's error: a stable code. */
export type DeadLetterCode =
  | "GATEHOUSE_EVENTS_TERMINATED"
  | "GATEHOUSE_EVENTS_DELIVERY_EXHAUSTED"
  | "GATEHOUSE_EVENTS_INVALID_DATA";

/** The data of a dead letter. */
export interface DeadLetter {
  event: {
    id: string;
    subject: string;
    data: unknown;
    headers: Record<string, string>;
    deliveryCount: number;
  };
  error: { message: string; code?: string };
}

/** The subject dead letters of `durable` go to. */
export function deadLetterSubject(durable: string): string {
  return `deadletter.${durable}`;
}

/** The dedup id of the dead letter of delivery `seq` of `eventId` to `durable`. */
export function deadLetterId(durable: string, eventId: string, seq: number): string {
  return `${durable}:${eventId}:${seq}`;
}
