/**
 * @module sdk/saga/saga-log
 * The saga log in the store: one `sagas` row per saga and one `saga_steps` row per step
 * that has started. Every write a runner makes after creating a saga is guarded by its
 * claim (`owner` is this runner, the saga in the expected status) and renews the lease in
 * the same statement; a write that finds the claim gone reports it, and the runner stops.
 * The same SQL runs on PostgreSQL and on PGlite.
 */
import { quoteIdentifier } from "../store/migrations.ts";
import type { Queryable, Store } from "../store/store.ts";
import { SagaAbandoned } from "./saga-error.ts";
import type { SagaFailure, SagaState, StepState } from "./types.ts";

/** A step's row. */
export interface StepRecord {
  step: number;
  name: string;
  state: StepState;
  attempts: number;
  compensationAttempts: number;
  output: unknown;
  error: { message: string; code?: string } | null;
}

/** A saga's row with its steps, in step order. */
export interface SagaRecord {
  id: string;
  name: string;
  idempotencyKey: string | null;
  status: SagaState;
  input: unknown;
  output: Record<string, unknown> | null;
  error: SagaFailure | null;
  step: number;
  owner: string | null;
  steps: StepRecord[];
}

const unfinished = "status in ('running', 'compensating')";
/** A JavaScript time (ms) as a timestamptz. */
const at = (param: string) => `to_timestamp(${param}::float8 / 1000)`;
const json = (value: unknown) => JSON.stringify(value ?? null);

/** The log of one saga definition (its name), written as one owner. */
export class SagaLog {
  readonly #db: Store;
  readonly #name: string;
  readonly #owner: string;
  readonly #sagas: string;
  readonly #steps: string;

  constructor(db: Store, name: string, owner: string) {
    this.#db = db;
    this.#name = name;
    this.#owner = owner;
    const schema = quoteIdentifier(db.schema);
    this.#sagas = `${schema}.sagas`;
    this.#steps = `${schema}.saga_steps`;
  }

  /** Records a new saga claimed by this owner; false when its id or idempotency key is taken. */
  async create(id: string, key: string | undefined, input: unknown, leaseUntil: number) {
    const { rowCount } = await this.#db.query(
      `insert into ${this.#sagas} (id, name, idempotency_key, status, input, owner, lease_until)
       values ($1, $2, $3, 'running', $4::jsonb, $5, ${at("$6")}) on conflict do nothing`,
      [id, this.#name, key ?? null, json(input), this.#owner, leaseUntil],
    );
    return rowCount === 1;
  }

  /** The saga with this id (of any name), or the one of this name holding `key`. */
  async find(by: { id: string } | { key: string }): Promise<SagaRecord | undefined> {
    const { rows } = await this.#db.query<SagaRow>(
      "id" in by
        ? `select * from ${this.#sagas} where id = $1`
        : `select * from ${this.#sagas} where name = $1 and idempotency_key = $2`,
      "id" in by ? [by.id] : [this.#name, by.key],
    );
    return rows[0] && (await this.#withSteps(this.#db, rows[0]));
  }

  /** Takes over an unfinished saga whose lease ran out (or whose owner is not `live`). */
  async claim(id: string, now: number, leaseUntil: number, live?: string[]) {
    return this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<SagaRow>(
        `update ${this.#sagas} set owner = $2, lease_until = ${at("$3")}, updated_at = now()
         where id = $1 and ${unfinished} and ${this.#expired("$4", "$5")} returning *`,
        [id, this.#owner, leaseUntil, now, live ? json(live) : null],
      );
      return rows[0] && (await this.#withSteps(tx, rows[0]));
    });
  }

  /** Ids of this name's unfinished sagas that no live owner holds, oldest first. */
  async interrupted(now: number, live: string[] | undefined, limit: number): Promise<string[]> {
    const { rows } = await this.#db.query<{ id: string }>(
      `select id from ${this.#sagas} where name = $1 and ${unfinished}
       and ${this.#expired("$2", "$3")} order by created_at limit $4`,
      [this.#name, now, live ? json(live) : null, limit],
    );
    return rows.map((row) => row.id);
  }

  /** Extends the lease of these sagas; answers the ids this owner still holds. */
  async renew(ids: string[], leaseUntil: number): Promise<Set<string>> {
    const { rows } = await this.#db.query<{ id: string }>(
      `update ${this.#sagas} set lease_until = ${at("$2")}
       where owner = $1 and ${unfinished} and id in (select jsonb_array_elements_text($3::jsonb))
       returning id`,
      [this.#owner, leaseUntil, json(ids)],
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Gives up this owner's leases of these unfinished sagas (stopped between steps, as a
   * closing definition leaves them): any process may resume them at once.
   */
  async release(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.query(
      `update ${this.#sagas} set lease_until = null
       where owner = $1 and ${unfinished} and id in (select jsonb_array_elements_text($2::jsonb))`,
      [this.#owner, json(ids)],
    );
  }

  /** Before an action runs: the step is `running`; answers how many times it has started. */
  async startStep(id: string, step: number, name: string, leaseUntil: number): Promise<number> {
    const { rows } = await this.#db.query<{ attempts: number }>(
      `with saga as (${this.#touch("running", "step = $3,")})
       insert into ${this.#steps} as s (saga_id, step, name, state, attempts, started_at)
       select id, $3, $5, 'running', 1, now() from saga
       on conflict (saga_id, step) do update
       set state = 'running', attempts = s.attempts + 1, started_at = now(), finished_at = null
       returning attempts`,
      [id, this.#owner, step, leaseUntil, name],
    );
    return this.#held(rows, id)[0]!.attempts;
  }

  /** After an action succeeded: the step is `done`; with `completed`, so is the saga. */
  async finishStep(
    id: string,
    step: number,
    output: unknown,
    leaseUntil: number,
    completed?: Record<string, unknown>,
  ): Promise<void> {
    // The last step's write also completes the saga and gives up its lease ($4 then holds
    // the saga's outputs: PostgreSQL refuses a parameter that no clause uses).
    const saga = completed
      ? `update ${this.#sagas} set status = 'completed', output = $4::jsonb, lease_until = null,
         updated_at = now() where id = $1 and owner = $2 and status = 'running' returning id`
      : this.#touch("running");
    const { rows } = await this.#db.query(
      `with saga as (${saga})
       update ${this.#steps} s set state = 'done', output = $5::jsonb, error = null, finished_at = now()
       from saga where s.saga_id = saga.id and s.step = $3 returning s.step`,
      [id, this.#owner, step, completed ? json(completed) : leaseUntil, json(output)],
    );
    this.#held(rows, id);
  }

  /**
   * After an action failed: the saga is `compensating`, with `failure` as its error. The step
   * is `failed`, or `compensating` when its effect is unknown (it timed out, or an earlier
   * run was interrupted) and it has to be compensated with the steps before it.
   */
  async failStep(
    id: string,
    step: number,
    state: "failed" | "compensating",
    failure: SagaFailure,
    leaseUntil: number,
  ): Promise<void> {
    const { rows } = await this.#db.query(
      `with saga as (
         update ${this.#sagas} set status = 'compensating', error = $5::jsonb,
         lease_until = ${at("$4")}, updated_at = now()
         where id = $1 and owner = $2 and status = 'running' returning id)
       update ${this.#steps} s set state = $6, error = $7::jsonb, finished_at = now()
       from saga where s.saga_id = saga.id and s.step = $3 returning s.step`,
      [id, this.#owner, step, leaseUntil, json(failure), state, json(stepError(failure))],
    );
    this.#held(rows, id);
  }

  /** Before a compensation attempt: the step is `compensating`; answers the attempt number. */
  async startCompensation(id: string, step: number, leaseUntil: number): Promise<number> {
    const { rows } = await this.#db.query<{ compensation_attempts: number }>(
      `with saga as (${this.#touch("compensating")})
       update ${this.#steps} s set state = 'compensating',
       compensation_attempts = s.compensation_attempts + 1
       from saga where s.saga_id = saga.id and s.step = $3 returning s.compensation_attempts`,
      [id, this.#owner, step, leaseUntil],
    );
    return this.#held(rows, id)[0]!.compensation_attempts;
  }

  /** After a compensation attempt failed: its error on the step (it stays `compensating`). */
  async failCompensation(id: string, step: number, error: unknown, leaseUntil: number) {
    const { rows } = await this.#db.query(
      `with saga as (${this.#touch("compensating")})
       update ${this.#steps} s set error = $5::jsonb
       from saga where s.saga_id = saga.id and s.step = $3 returning s.step`,
      [id, this.#owner, step, leaseUntil, json(error)],
    );
    this.#held(rows, id);
  }

  /** After a compensation succeeded: the step is `compensated`. */
  async finishCompensation(id: string, step: number, leaseUntil: number): Promise<void> {
    const { rows } = await this.#db.query(
      `with saga as (${this.#touch("compensating")})
       update ${this.#steps} s set state = 'compensated', finished_at = now()
       from saga where s.saga_id = saga.id and s.step = $3 returning s.step`,
      [id, this.#owner, step, leaseUntil],
    );
    this.#held(rows, id);
  }

  /** Ends an unfinished saga as `compensated` or `failed`, with its error. */
  async end(id: string, status: "compensated" | "failed", error: SagaFailure): Promise<void> {
    const { rows } = await this.#db.query(
      `update ${this.#sagas} set status = $3, error = $4::jsonb, lease_until = null, updated_at = now()
       where id = $1 and owner = $2 and ${unfinished} returning id`,
      [id, this.#owner, status, json(error)],
    );
    this.#held(rows, id);
  }

  /** The claim check every guarded write starts with; renews the lease. Params $1 id, $2 owner, $4 lease. */
  #touch(status: SagaState, set = ""): string {
    return `update ${this.#sagas} set ${set} lease_until = ${at("$4")}, updated_at = now()
      where id = $1 and owner = $2 and status = '${status}' returning id`;
  }

  /** The lease ran out, or (PGlite) its owner is no live definition of this process. */
  #expired(now: string, live: string): string {
    return `(lease_until is null or lease_until < ${at(now)}
      or (${live}::jsonb is not null and owner not in (select jsonb_array_elements_text(${live}::jsonb))))`;
  }

  #held<R>(rows: R[], id: string): R[] {
    if (rows.length === 0) throw new SagaAbandoned(`saga ${id} is no longer held by this process`);
    return rows;
  }

  async #withSteps(db: Queryable, row: SagaRow): Promise<SagaRecord> {
    const { rows } = await db.query<StepRow>(
      `select * from ${this.#steps} where saga_id = $1 order by step`,
      [row.id],
    );
    return {
      id: row.id,
      name: row.name,
      idempotencyKey: row.idempotency_key,
      status: row.status,
      input: row.input,
      output: row.output,
      error: row.error,
      step: row.step,
      owner: row.owner,
      steps: rows.map((step) => ({
        step: step.step,
        name: step.name,
        state: step.state,
        attempts: step.attempts,
        compensationAttempts: step.compensation_attempts,
        output: step.output,
        error: step.error,
      })),
    };
  }
}

/** What a step row records of the saga's failure. */
function stepError(failure: SagaFailure): { message: string; code?: string } {
  return failure.code === undefined
    ? { message: failure.message }
    : { message: failure.message, code: failure.code };
}

interface SagaRow {
  id: string;
  name: string;
  idempotency_key: string | null;
  status: SagaState;
  input: unknown;
  output: Record<string, unknown> | null;
  error: SagaFailure | null;
  step: number;
  owner: string | null;
}

interface StepRow {
  step: number;
  name: string;
  state: StepState;
  attempts: number;
  compensation_attempts: number;
  output: unknown;
  error: { message: string; code?: string } | null;
}
