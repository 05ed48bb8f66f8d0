/**
 * @module sdk/events/retention
 * Keeps the outbox and the inbox from growing for ever: rows past their retention are
 * deleted a small batch per statement (no long lock, no long transaction), on a timer that
 * does not keep the process alive. The outbox keeps a published row for `outboxRetention`
 * (to look at what went out); an inbox keeps an applied id for `inboxRetention` (the
 * duplicates it catches arrive within the broker's duplicate window and redelivery times).
 */
import { quoteIdentifier } from "../store/migrations.ts";
import type { Store } from "../store/store.ts";

/** Rows deleted per statement. */
const batchSize = 500;
/** Statements per round at most: the rest waits for the next round. */
const maxBatches = 20;

/** How often a retention of `retentionMs` is enforced: a quarter of it, from 50ms to a minute. */
export function pruneIntervalMs(retentionMs: number): number {
  return Math.min(60_000, Math.max(50, Math.floor(retentionMs / 4)));
}

/** Deletes a batch of the outbox's rows published more than `retentionMs` ago; answers how many. */
export async function pruneOutbox(db: Store, retentionMs: number): Promise<number> {
  const table = `${quoteIdentifier(db.schema)}.outbox`;
  const result = await db.query(
    `delete from ${table} where seq in (
       select seq from ${table}
       where published_at < now() - $1::double precision * interval '1 millisecond'
       order by published_at limit ${batchSize})`,
    [retentionMs],
  );
  return result.rowCount ?? 0;
}

/** Deletes a batch of `durable`'s inbox rows applied more than `retentionMs` ago; answers how many. */
export async function pruneInbox(db: Store, durable: string, retentionMs: number): Promise<number> {
  const table = `${quoteIdentifier(db.schema)}.inbox`;
  const result = await db.query(
    `delete from ${table} where consumer = $1 and event_id in (
       select event_id from ${table}
       where consumer = $1 and applied_at < now() - $2::double precision * interval '1 millisecond'
       order by applied_at limit ${batchSize})`,
    [durable, retentionMs],
  );
  return result.rowCount ?? 0;
}

/**
 * Runs `prune` (one batch) every `intervalMs`, batch after batch while they come back full;
 * a failure (the store closing or away) waits for the next round. The returned function
 * stops the timer and waits for a round in progress.
 */
export function pruneEvery(intervalMs: number, prune: () => Promise<number>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const round = async () => {
    for (let batch = 0; batch < maxBatches && !stopped; batch++) {
      if ((await prune()) < batchSize) return;
    }
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = round()
      .catch(() => {})
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
