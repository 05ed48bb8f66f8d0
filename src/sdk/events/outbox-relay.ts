/**
 * @module sdk/events/outbox-relay
 * Publishes what transactions wrote to their store's outbox, after they commit: woken by
 * the store (`onOutboxWrite`), when the bus starts, and every second (for rows another
 * process left, or a publish that failed). Rows go out in `seq` order with their own id,
 * so a row published again after a crash (published, then the process died before marking
 * it) is dropped by the broker's duplicate window.
 *
 * - JetStream: on PostgreSQL a batch of rows is taken `FOR UPDATE SKIP LOCKED` (several
 *   processes of a service relay the same outbox without publishing a row twice at once),
 *   published, and marked `published_at` in the same transaction. On PGlite (one process)
 *   no transaction is held across the publish: it would hold the whole database for as long
 *   as the broker takes to answer, seconds per round while NATS is away. A row whose publish
 *   failed stays for the next round; rows after it that were stored are marked (so after a
 *   failure the order of a subject's events is not kept).
 * - Embedded: a row is handed to the in-process broker and marked only once every durable
 *   consumer of the process matching it has settled it; until then it stays unpublished,
 *   so a restart delivers it again.
 *
 * Rows published more than `outboxRetention` ago are deleted (retention.ts).
 */
import { onStoreClosed, onStoreOpened, openStores } from "../store/index.ts";
import { quoteIdentifier } from "../store/migrations.ts";
import type { Queryable, Store } from "../store/store.ts";
import type { Bus } from "./bus.ts";
import { watchOutbox } from "./event-metrics.ts";
import { pruneEvery, pruneIntervalMs, pruneOutbox } from "./retention.ts";
import type { OutgoingMessage } from "./transport.ts";

/** Rows taken per round. */
const batchSize = 200;
/** How often every outbox is looked at, woken or not. */
const tickMs = 1000;

interface OutboxRow {
  seq: string;
  id: string;
  subject: string;
  data: unknown;
  headers: Record<string, string>;
}

const encoder = new TextEncoder();

/**
 * Rows of each store handed to the embedded broker and not settled yet, shared by every
 * embedded bus of the process (they share the broker), so no bus hands a row in twice.
 */
const handedIn = new WeakMap<Store, Set<string>>();

/** Relays the outboxes of `stores` (every store opened in the process when undefined). */
export function startOutboxRelay(bus: Bus, stores: Store[] | undefined): () => Promise<void> {
  const relays = new Map<Store, StoreRelay>();
  const add = (store: Store) => {
    if (!relays.has(store)) relays.set(store, new StoreRelay(bus, store));
  };
  const remove = (store: Store) => {
    relays.get(store)?.stop();
    relays.delete(store);
  };
  const unsubscribe: (() => void)[] = [];
  if (stores) stores.forEach(add);
  else {
    openStores().forEach(add);
    unsubscribe.push(onStoreOpened(add), onStoreClosed(remove));
  }
  const timer = setInterval(() => {
    for (const relay of relays.values()) relay.wake(true);
  }, tickMs);
  timer.unref();
  const retentionMs = bus.options.outboxRetentionMs;
  const stopPruning = pruneEvery(pruneIntervalMs(retentionMs), async () => {
    let deleted = 0;
    for (const store of relays.keys())
      deleted = Math.max(deleted, await pruneOutbox(store, retentionMs));
    return deleted;
  });
  return async () => {
    clearInterval(timer);
    await stopPruning();
    for (const stop of unsubscribe) stop();
    await Promise.all([...relays.values()].map((relay) => relay.stop()));
    relays.clear();
  };
}

/** The relay of one store's outbox. */
class StoreRelay {
  readonly #bus: Bus;
  readonly #store: Store;
  readonly #table: string;
  readonly #stopWatching: (() => void)[];
  #running: Promise<void> | undefined;
  #again = false;
  #fullScan = true;
  #stopped = false;
  /** Embedded: the highest seq handed in; woken rounds look past it, ticks look at all. */
  #handedUpTo = 0n;
  #settledSeqs: string[] = [];
  #marking: Promise<void> | undefined;

  constructor(bus: Bus, store: Store) {
    this.#bus = bus;
    this.#store = store;
    this.#table = `${quoteIdentifier(store.schema)}.outbox`;
    this.#stopWatching = [
      store.onOutboxWrite(() => this.wake(false)),
      watchOutbox({
        store: store.name,
        pending: async () => {
          const { rows } = await store.query<{ pending: number }>(
            `select count(*)::int as pending from ${this.#table} where published_at is null`,
          );
          return rows[0]!.pending;
        },
      }),
    ];
    // Embedded: the first round waits for the first tick, so that the subscriptions a
    // service makes right after connecting exist and the rows wait for them to settle.
    if (bus.transport !== "embedded") this.wake(true);
  }

  /** Runs a round now, or once more after the running one. */
  wake(fullScan: boolean): void {
    if (this.#stopped) return;
    if (fullScan) this.#fullScan = true;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.wake(false);
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const stop of this.#stopWatching) stop();
    await this.#running;
    await this.#marking;
  }

  async #drain(): Promise<void> {
    try {
      const embedded = this.#bus.transport === "embedded";
      for (let rounds = 0; rounds < 1000 && !this.#stopped; rounds++) {
        const relayed = embedded ? await this.#handIn() : await this.#publishBatch();
        if (relayed < batchSize) return;
      }
    } catch {
      // The broker or the database is away: the next tick tries again.
    }
  }

  /** JetStream: publishes a batch (locked, on PostgreSQL) and marks what the stream acknowledged. */
  async #publishBatch(): Promise<number> {
    if (this.#store.kind === "pglite") return this.#publishRows(this.#store, "");
    return this.#store.transaction((tx) => this.#publishRows(tx, "for update skip locked"));
  }

  async #publishRows(queryable: Queryable, lock: string): Promise<number> {
    const { rows } = await queryable.query<OutboxRow>(
      `select seq, id, subject, data, headers from ${this.#table}
       where published_at is null order by seq limit ${batchSize} ${lock}`,
    );
    // Sent back to back (in seq order) and awaited together: one round trip, not one per row.
    const results = await Promise.allSettled(
      rows.map((row) => this.#bus.publishMessage(messageOf(row))),
    );
    const published = rows
      .filter((_, at) => results[at]!.status === "fulfilled")
      .map((row) => row.seq);
    if (published.length > 0)
      await queryable.query(
        `update ${this.#table} set published_at = now() where seq = any($1::bigint[])`,
        [published],
      );
    return published.length === rows.length ? rows.length : 0;
  }

  /** Embedded: hands rows to the broker; each is marked once all its consumers settle it. */
  async #handIn(): Promise<number> {
    const inFlight = handedIn.get(this.#store) ?? new Set<string>();
    handedIn.set(this.#store, inFlight);
    // A row committed late with a lower seq than one handed in is found by the next tick.
    const after = this.#fullScan ? 0n : this.#handedUpTo;
    this.#fullScan = false;
    const { rows } = await this.#store.query<OutboxRow>(
      `select seq, id, subject, data, headers from ${this.#table}
       where published_at is null and seq > $1 order by seq limit ${batchSize}`,
      [after.toString()],
    );
    for (const row of rows) {
      if (BigInt(row.seq) > this.#handedUpTo) this.#handedUpTo = BigInt(row.seq);
      if (inFlight.has(row.seq)) continue;
      inFlight.add(row.seq);
      let settled: Promise<void> | undefined;
      try {
        const receipt = await this.#bus.publishMessage(messageOf(row));
        settled = receipt.duplicate ? undefined : receipt.settled;
      } catch (error) {
        inFlight.delete(row.seq);
        this.#fullScan = true;
        throw error;
      }
      const mark = () => {
        this.#settledSeqs.push(row.seq);
        this.#markSettled(inFlight);
      };
      if (settled) settled.then(mark);
      else mark();
    }
    return rows.length;
  }

  /** Marks settled rows published, many per statement. */
  #markSettled(inFlight: Set<string>): void {
    if (this.#marking) return;
    this.#marking = (async () => {
      while (this.#settledSeqs.length > 0) {
        const seqs = this.#settledSeqs.splice(0);
        try {
          await this.#store.query(
            `update ${this.#table} set published_at = now() where seq = any($1::bigint[])`,
            [seqs],
          );
        } catch {
          // The store is closing or away: the rows stay unpublished and go out again later.
        }
        for (const seq of seqs) inFlight.delete(seq);
      }
    })().finally(() => {
      this.#marking = undefined;
    });
  }
}

function messageOf(row: OutboxRow): OutgoingMessage {
  return {
    id: row.id,
    subject: row.subject,
    data: encoder.encode(JSON.stringify(row.data)),
    headers: row.headers,
  };
}
