/**
 * @module sdk/events/inbox
 * The idempotent consumer's inbox: a row `(consumer, event_id)` in the store's `inbox`
 * table, inserted in the same transaction as the handler's writes. The insert that finds
 * the row there already says the event was applied before (a redelivery or a duplicate),
 * and the handler is not run again; a rolled-back handler takes its row with it.
 */
import { quoteIdentifier } from "../store/migrations.ts";
import type { Store, Transaction } from "../store/store.ts";

/**
 * Claims `eventId` for `durable` in `tx`; false when an earlier transaction already applied
 * it. On PostgreSQL a concurrent claim of the same id waits for the first to commit or roll
 * back, so two deliveries running at once cannot both apply it.
 */
export async function claimInbox(
  db: Store,
  tx: Transaction,
  durable: string,
  eventId: string,
  subject: string,
): Promise<boolean> {
  const result = await tx.query(
    `insert into ${quoteIdentifier(db.schema)}.inbox (consumer, event_id, subject) values ($1, $2, $3)
     on conflict (consumer, event_id) do nothing`,
    [durable, eventId, subject],
  );
  return result.rowCount === 1;
}
