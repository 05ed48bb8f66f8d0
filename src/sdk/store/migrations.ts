/**
 * @module sdk/store/migrations
 * The SDK's own tables (outbox, inbox, saga log), created and kept up to date in each store's
 * schema when the store opens. Each version runs once per schema, in order, recorded in
 * `<schema>.migrations`; all of them in one transaction, under an advisory lock, so two
 * processes opening the same schema at once do not race (the second finds it done).
 *
 * A migration's SQL runs with the schema as `search_path`, so it names its tables bare.
 * New versions are appended at the END; a version once released is never edited.
 */
import { StoreError } from "./store-error.ts";

/** One step of the SDK tables' history. */
export interface Migration {
  version: number;
  /** Statements (`;`-separated), run with `search_path` set to the store's schema. */
  sql: string;
}

/** The SDK tables' history, oldest first. */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    sql: `
      create table outbox (
        seq bigserial primary key,
        id text not null,
        subject text not null,
        data jsonb not null,
        headers jsonb not null default '{}',
        created_at timestamptz not null default now(),
        published_at timestamptz
      );
      create index outbox_unpublished on outbox (seq) where published_at is null;
      create table inbox (
        consumer text not null,
        event_id text not null,
        subject text not null,
        applied_at timestamptz not null default now(),
        primary key (consumer, event_id)
      );
      create table sagas (
        id text primary key,
        name text not null,
        idempotency_key text,
        status text not null,
        input jsonb not null,
        output jsonb,
        error jsonb,
        step integer not null default 0,
        owner text,
        lease_until timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (name, idempotency_key)
      );
      create table saga_steps (
        saga_id text not null references sagas (id),
        step integer not null,
        name text not null,
        state text not null,
        attempts integer not null default 0,
        output jsonb,
        error jsonb,
        started_at timestamptz,
        finished_at timestamptz,
        primary key (saga_id, step)
      );
    `,
  },
  {
    // Sagas: a compensation's attempts counted apart from its action's; recovery finds a
    // name's unfinished sagas without reading the finished ones.
    version: 2,
    sql: `
      alter table saga_steps add column compensation_attempts integer not null default 0;
      create index sagas_unfinished on sagas (name, created_at)
        where status in ('running', 'compensating');
    `,
  },
  {
    // Retention: published outbox rows and a consumer's inbox rows found by age.
    version: 3,
    sql: `
      create index outbox_published on outbox (published_at) where published_at is not null;
      create index inbox_applied on inbox (consumer, applied_at);
    `,
  },
];

/** What migrating needs of a connection in an open transaction. */
export interface MigrationSession {
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  /** Runs several `;`-separated statements. */
  exec(sql: string): Promise<void>;
}

/** `name` as a quoted SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Brings `schema` up to the last version, in the caller's transaction: takes the schema's
 * advisory lock (held to the commit), creates the schema and its `migrations` table if
 * missing, and runs each version not recorded yet. Resolves with the versions it ran.
 */
export async function migrate(
  session: MigrationSession,
  schema: string,
  list: readonly Migration[] = migrations,
): Promise<number[]> {
  const quoted = quoteIdentifier(schema);
  const ran: number[] = [];
  let version = 0;
  try {
    // The lock comes first: "create schema if not exists" itself races on a fresh database.
    await session.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `gatehouse-migrations:${schema}`,
    ]);
    await session.exec(`create schema if not exists ${quoted};
      set local search_path to ${quoted};
      create table if not exists migrations (
        version integer primary key,
        applied_at timestamptz not null default now()
      );`);
    const { rows } = await session.query(
      "select coalesce(max(version), 0) as version from migrations",
    );
    const applied = Number(rows[0]!.version);
    for (const migration of list) {
      if (migration.version <= applied) continue;
      version = migration.version;
      await session.exec(migration.sql);
      await session.query("insert into migrations (version) values ($1)", [migration.version]);
      ran.push(migration.version);
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    const step = version === 0 ? "preparing its migrations" : `migrating to version ${version}`;
    throw new StoreError(
      "GATEHOUSE_STORE_MIGRATION_FAILED",
      `schema ${schema}: ${step} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return ran;
}
