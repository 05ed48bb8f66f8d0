/**
 * @module bench/events
 * The SDK's events, measured in this process on each transport (NATS JetStream on a
 * nats-server of its own, and the embedded one) with each store (PGlite in a temporary
 * directory, PostgreSQL on the machine's server) behind the consumer's inbox:
 * - throughput: events published (200 in flight at a time) and consumed with the inbox (each
 *   applied in its own transaction with an inbox row and one write of its own), per second,
 *   from the first publish to the last event applied, with 1 and with 8 handlers at a time;
 * - end-to-end latency: one event at a time, from `publish()` being called to its handler
 *   running inside its inbox transaction, p50 and p99.
 * Numbers only, no target. `node bench/events.ts` alone, `npm run bench -- --only events`,
 * or with everything in `npm run bench`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type EventBus, events, type Store, store } from "../src/sdk/index.ts";
import { startNatsServer } from "../test/helpers/nats-server.ts";
import { createTestDatabase } from "../test/helpers/postgres.ts";
import { formatColumns } from "./table.ts";

/** Its `--only` name. */
export const eventsBenchName = "events";

const throughputEvents = 2000;
const inFlight = 200;
const latencySamples = 300;
const deadlineMs = 120_000;

/** One transport and store's numbers. */
export interface EventsRow {
  transport: "jetstream" | "embedded";
  store: "pglite" | "postgres";
  /** Events per second at 1 and at 8 handlers at a time. */
  perSecond: { concurrency: number; events: number; perSecond: number }[];
  latencyMs: { samples: number; p50: number; p99: number };
}

export interface EventsResults {
  rows: EventsRow[];
}

/** Measures every transport with every store. */
export async function measureEvents(): Promise<EventsResults> {
  const nats = await startNatsServer();
  const database = await createTestDatabase();
  const root = await mkdtemp(join(tmpdir(), "gatehouse-bench-events-"));
  const rows: EventsRow[] = [];
  try {
    for (const transport of ["jetstream", "embedded"] as const) {
      for (const kind of ["pglite", "postgres"] as const) {
        const name = `bench_${transport}_${kind}`;
        const db =
          kind === "pglite"
            ? await store.open(undefined, { name, dataDir: join(root, name) })
            : await store.open(database.url, { name, max: 10 });
        const bus = await events.connect(transport === "jetstream" ? nats.url : undefined, {
          stores: [],
        });
        try {
          await db.query(
            "create table if not exists bench_effects (event_id text not null, n int not null)",
          );
          const perSecond = [];
          for (const concurrency of [1, 8])
            perSecond.push(await throughput(bus, db, `${name}_c${concurrency}`, concurrency));
          rows.push({
            transport,
            store: kind,
            perSecond,
            latencyMs: await latency(bus, db, `${name}_latency`),
          });
        } finally {
          await bus.close();
          await db.close();
        }
      }
    }
  } finally {
    await nats.remove();
    await database.drop();
    await rm(root, { recursive: true, force: true });
  }
  return { rows };
}

/** Events per second through publish → inbox transaction → ack, `concurrency` handlers at a time. */
async function throughput(
  bus: EventBus,
  db: Store,
  name: string,
  concurrency: number,
): Promise<EventsRow["perSecond"][number]> {
  let applied = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const subject = `${name}.made`;
  const subscription = bus.subscribe(
    { durable: name, subject, db, concurrency },
    async (event, tx) => {
      await tx!.query("insert into bench_effects (event_id, n) values ($1, $2)", [
        event.id,
        (event.data as { n: number }).n,
      ]);
      if (++applied === throughputEvents) done();
    },
  );
  await subscription.ready;
  const started = performance.now();
  for (let from = 0; from < throughputEvents; from += inFlight) {
    const batch = [];
    for (let n = from; n < Math.min(from + inFlight, throughputEvents); n++)
      batch.push(bus.publish(subject, { n }, { id: `${name}-${n}` }));
    await Promise.all(batch);
  }
  await withDeadline(finished, `${name}: ${applied}/${throughputEvents} applied`);
  const seconds = (performance.now() - started) / 1000;
  await subscription.close();
  return { concurrency, events: throughputEvents, perSecond: throughputEvents / seconds };
}

/** publish() → handler running in its inbox transaction, one event at a time. */
async function latency(bus: EventBus, db: Store, name: string): Promise<EventsRow["latencyMs"]> {
  const sent = new Map<string, number>();
  const samples: number[] = [];
  let arrived: (() => void) | undefined;
  const subject = `${name}.made`;
  const subscription = bus.subscribe({ durable: name, subject, db }, async (event) => {
    samples.push(performance.now() - sent.get(event.id)!);
    arrived?.();
  });
  await subscription.ready;
  for (let n = 0; n < latencySamples; n++) {
    const id = `${name}-${n}`;
    const handled = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    sent.set(id, performance.now());
    await bus.publish(subject, { n }, { id });
    await withDeadline(handled, `${name}: event ${n} handled`);
  }
  await subscription.close();
  samples.sort((a, b) => a - b);
  const at = (share: number) =>
    samples[Math.min(samples.length - 1, Math.floor(share * samples.length))]!;
  return { samples: samples.length, p50: at(0.5), p99: at(0.99) };
}

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), deadlineMs);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The results as a table. */
export function formatEventsTable(results: EventsResults): string {
  const header = [
    "events (inbox)",
    "events/s, 1 handler",
    "events/s, 8 handlers",
    "e2e p50 ms",
    "e2e p99 ms",
  ];
  const rows = results.rows.map((row) => [
    `${row.transport} + ${row.store}`,
    ...row.perSecond.map((entry) => Math.round(entry.perSecond).toLocaleString("en-US")),
    row.latencyMs.p50.toFixed(2),
    row.latencyMs.p99.toFixed(2),
  ]);
  return [
    formatColumns(header, rows),
    `${throughputEvents} events published ${inFlight} in flight, each applied in its own transaction with its inbox row; e2e: publish() called → handler running (${latencySamples} events one at a time)`,
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(formatEventsTable(await measureEvents()));
}
