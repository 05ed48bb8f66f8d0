/**
 * @module sdk/saga/definition
 * `saga(name, { db })`: a saga definition. `.step()` adds steps; `run()` starts a saga (or,
 * for an idempotency key or id already used, answers that saga's result, waiting while it
 * runs); `status()` reads its log; the definition resumes the interrupted sagas of its
 * name on the tick after it is created, every lease period after that, and on `resume()`.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { onShutdownSignal, shutdownGraceMs } from "../shutdown-signals.ts";
import { type SagaClock, systemClock } from "./clock.ts";
import { HeldSagas, liveOwners } from "./held-sagas.ts";
import { driveSaga, type RunnerSettings, type RunnerStep } from "./runner.ts";
import { SagaAbandoned, SagaError } from "./saga-error.ts";
import { SagaLog, type SagaRecord } from "./saga-log.ts";
import { durationMs } from "./saga-options.ts";
import type {
  Duration,
  RunOptions,
  SagaOptions,
  SagaResult,
  SagaStatus,
  StepAction,
  StepCompensation,
  StepOptions,
} from "./types.ts";

/** How many interrupted sagas one pass of recovery takes over at most. */
const recoveryBatch = 100;

/**
 * Defines the saga called `name`, logged in `options.db`. Add its steps with `.step()` in
 * the same tick: interrupted sagas of this name are resumed from the next one.
 */
export function saga<Input = unknown>(
  name: string,
  options: SagaOptions,
): SagaDefinition<Input, Record<never, never>> {
  return new SagaDefinition(name, options);
}

/** A saga's steps and the runner of its sagas. `Outputs` grows with each step. */
export class SagaDefinition<Input, Outputs extends Record<string, unknown>> {
  /** The saga's name, recorded with each of its sagas. */
  readonly name: string;
  readonly #steps: RunnerStep[] = [];
  readonly #settings: RunnerSettings;
  readonly #stepTimeoutMs: number;
  readonly #clock: SagaClock;
  readonly #kind: string;
  readonly #owner = randomUUID();
  readonly #log: SagaLog;
  readonly #held: HeldSagas;
  readonly #byKey = new Map<string, Promise<SagaResult>>();
  /** Aborted when closing starts: no new saga, no new step. */
  readonly #finishing = new AbortController();
  /** Aborted when closing ends the waiting: running steps are stopped where they are. */
  readonly #closed = new AbortController();
  readonly #stopClosingOnSignal: () => void;
  #closing: Promise<void> | undefined;
  readonly #onError: (error: Error) => void;
  readonly #recovery: NodeJS.Timeout;
  #recovering: Promise<number> | undefined;

  constructor(name: string, options: SagaOptions) {
    if (typeof name !== "string" || name === "")
      throw new TypeError("saga(name, options): name must be a non-empty string");
    if (!options?.db) throw new TypeError(`saga "${name}": options.db (a store) is required`);
    this.name = name;
    this.#stepTimeoutMs = durationMs(options.stepTimeout ?? "30s", `saga "${name}" stepTimeout`);
    const leaseMs = durationMs(options.lease ?? "30s", `saga "${name}" lease`);
    const backoff = options.compensationBackoff ?? ["100ms", "1s", "5s", "30s"];
    if (!Array.isArray(backoff) || backoff.length === 0)
      throw new TypeError(`saga "${name}": compensationBackoff must list at least one duration`);
    const max = options.maxCompensationAttempts;
    if (max !== undefined && !(Number.isInteger(max) && max >= 1))
      throw new TypeError(`saga "${name}": maxCompensationAttempts must be a whole number >= 1`);
    this.#clock = options.clock ?? systemClock;
    this.#kind = options.db.kind;
    this.#onError =
      options.onError ?? ((error) => process.emitWarning(`saga "${name}": ${error.message}`));
    this.#log = new SagaLog(options.db, name, this.#owner);
    this.#held = new HeldSagas(this.#log, this.#clock, leaseMs, this.#onError);
    this.#settings = {
      saga: name,
      steps: this.#steps,
      log: this.#log,
      clock: this.#clock,
      leaseMs,
      backoffMs: backoff.map((item, i) =>
        durationMs(item, `saga "${name}" compensationBackoff[${i}]`),
      ),
      maxCompensationAttempts: max,
      finishing: this.#finishing.signal,
    };
    liveOwners.add(this.#owner);
    // After the steps are added; then every lease period, for sagas whose process died.
    setTimeout(() => void this.resume().catch(this.#onError), 0).unref();
    this.#recovery = setInterval(() => void this.resume().catch(this.#onError), leaseMs).unref();
    // On SIGTERM/SIGINT, before the stores close: the running steps end, and their sagas are
    // left for any process to resume at once rather than after their lease.
    this.#stopClosingOnSignal = onShutdownSignal("finish", () =>
      this.close({ grace: shutdownGraceMs }),
    );
  }

  /**
   * Adds a step: `action` does its work and returns its output (JSON); `compensate`, when
   * given, undoes it. Both must be idempotent by `ctx.idempotencyKey` (they can run again
   * after a crash). Step names are unique within a saga.
   */
  step<Name extends string, Output>(
    name: Name,
    action: StepAction<Input, Outputs, Output>,
    compensate?: StepCompensation<Input, Outputs, Output>,
    options: StepOptions = {},
  ): SagaDefinition<Input, Outputs & { [K in Name]: Output }> {
    if (typeof name !== "string" || name === "")
      throw new TypeError(`saga "${this.name}": a step's name must be a non-empty string`);
    if (this.#steps.some((step) => step.name === name))
      throw new TypeError(`saga "${this.name}": there is already a step "${name}"`);
    if (typeof action !== "function")
      throw new TypeError(`saga "${this.name}" step "${name}": the action must be a function`);
    if (compensate !== undefined && typeof compensate !== "function")
      throw new TypeError(
        `saga "${this.name}" step "${name}": the compensation must be a function`,
      );
    this.#steps.push({
      name,
      action: action as RunnerStep["action"],
      compensate: compensate as RunnerStep["compensate"],
      timeoutMs:
        options.timeout === undefined
          ? this.#stepTimeoutMs
          : durationMs(options.timeout, `saga "${this.name}" step "${name}" timeout`),
    });
    return this as unknown as SagaDefinition<Input, Outputs & { [K in Name]: Output }>;
  }

  /**
   * Runs a saga to its end. A failing step does not throw: the result says `compensated`
   * (or `failed`, when a compensation gave up). Rejects only when the saga log cannot be
   * written, or the definition is closed; the saga is then resumed from its log.
   */
  run(input: Input, options: RunOptions = {}): Promise<SagaResult<Outputs>> {
    if (this.#finishing.signal.aborted)
      return Promise.reject(new SagaError("GATEHOUSE_SAGA_CLOSED"));
    if (this.#steps.length === 0)
      return Promise.reject(new TypeError(`saga "${this.name}" has no steps`));
    const key = options.idempotencyKey;
    const running = key === undefined ? undefined : this.#byKey.get(key);
    if (running) return running as Promise<SagaResult<Outputs>>;
    const result = this.#start(input, key, options.id ?? randomUUID());
    if (key !== undefined) {
      this.#byKey.set(key, result);
      const forget = () => this.#byKey.delete(key);
      result.then(forget, forget);
    }
    return result as Promise<SagaResult<Outputs>>;
  }

  /** The saga with this id as its log shows it; undefined when there is none of this name. */
  async status(id: string): Promise<SagaStatus | undefined> {
    const record = await this.#log.find({ id });
    if (!record || record.name !== this.name) return undefined;
    return {
      id: record.id,
      name: record.name,
      status: record.status,
      input: record.input,
      ...(record.output !== null && { output: record.output }),
      ...(record.error !== null && { error: record.error }),
      ...(record.idempotencyKey !== null && { idempotencyKey: record.idempotencyKey }),
      steps: record.steps.map((step) => ({
        name: step.name,
        state: step.state,
        attempts: step.attempts,
        compensationAttempts: step.compensationAttempts,
        ...(step.output !== null && { output: step.output }),
        ...(step.error !== null && { error: step.error }),
      })),
    };
  }

  /**
   * Takes over this name's interrupted sagas (unfinished, their lease run out) and runs
   * them on in the background; answers how many it took over.
   */
  resume(): Promise<number> {
    // One pass at a time: a second caller shares the pass in progress.
    this.#recovering ??= this.#recover().finally(() => {
      this.#recovering = undefined;
    });
    return this.#recovering;
  }

  /**
   * Stops: no more recovery, no new saga and no new step (pending `run()` calls reject with
   * `GATEHOUSE_SAGA_CLOSED`). With `grace`, the steps (and compensation attempts) running
   * are given that long to end, and the sagas that stopped between steps are released: any
   * process resumes them at once. Then leases are no longer renewed and what still runs is
   * stopped where its log says (its step's signal aborted), to be resumed by another process
   * (or this one, defined again) once its lease runs out. SIGTERM and SIGINT close the
   * definition with a grace of 10 seconds.
   */
  close(options: { grace?: Duration } = {}): Promise<void> {
    const graceMs =
      options.grace === undefined ? 0 : durationMs(options.grace, `saga "${this.name}" grace`);
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    this.#stopClosingOnSignal();
    this.#finishing.abort(new SagaError("GATEHOUSE_SAGA_CLOSED"));
    clearInterval(this.#recovery);
    const held = this.#held.ids();
    if (graceMs > 0) await this.#held.settled(graceMs);
    const running = new Set(this.#held.ids());
    this.#closed.abort(new SagaError("GATEHOUSE_SAGA_CLOSED"));
    liveOwners.delete(this.#owner);
    await this.#held.close();
    await this.#recovering?.catch(() => {});
    // Stopped between steps: nothing of theirs runs any more.
    if (graceMs > 0)
      await this.#log.release(held.filter((id) => !running.has(id))).catch(this.#onError);
  }

  async #recover(): Promise<number> {
    if (this.#finishing.signal.aborted || this.#steps.length === 0) return 0;
    const ids = await this.#log.interrupted(this.#clock.now(), this.#live(), recoveryBatch);
    let taken = 0;
    for (const id of ids) {
      if (this.#finishing.signal.aborted) break;
      if (this.#held.result(id)) continue;
      const record = await this.#log.claim(id, ...this.#claimTimes());
      if (!record) continue;
      taken++;
      this.#drive(record).catch((error: Error) => {
        if (!(error instanceof SagaAbandoned) && !this.#finishing.signal.aborted)
          this.#onError(error);
      });
    }
    return taken;
  }

  async #start(input: Input, key: string | undefined, id: string): Promise<SagaResult> {
    const leaseUntil = this.#clock.now() + this.#settings.leaseMs;
    if (await this.#log.create(id, key, input, leaseUntil)) {
      const fresh: SagaRecord = {
        id,
        name: this.name,
        idempotencyKey: key ?? null,
        status: "running",
        input: JSON.parse(JSON.stringify(input ?? null)),
        output: null,
        error: null,
        step: 0,
        owner: null,
        steps: [],
      };
      return this.#settle(id, this.#drive(fresh));
    }
    // The key or the id is taken: that saga's result is this run's.
    const existing =
      (key === undefined ? undefined : await this.#log.find({ key })) ??
      (await this.#log.find({ id }));
    if (!existing) throw new Error(`saga "${this.name}": ${id} was neither created nor found`);
    if (existing.name !== this.name)
      throw new SagaError(
        "GATEHOUSE_SAGA_ID_CONFLICT",
        `saga id ${id} belongs to a saga "${existing.name}", not "${this.name}"`,
      );
    return this.#awaitResult(existing.id);
  }

  #drive(record: SagaRecord): Promise<SagaResult> {
    return this.#held.hold(record.id, this.#closed.signal, (stop) =>
      driveSaga(this.#settings, record, stop),
    );
  }

  /** A runner that lost its saga to another process leaves the result to that one. */
  async #settle(id: string, result: Promise<SagaResult>): Promise<SagaResult> {
    try {
      return await result;
    } catch (error) {
      if (this.#finishing.signal.aborted) throw new SagaError("GATEHOUSE_SAGA_CLOSED");
      if (error instanceof SagaAbandoned) return this.#awaitResult(id);
      throw error;
    }
  }

  /** Waits for a saga to end: held here, run elsewhere, or taken over when its lease runs out. */
  async #awaitResult(id: string): Promise<SagaResult> {
    const maxDelay = Math.min(1_000, this.#settings.leaseMs / 3);
    for (let delay = 5; ; delay = Math.min(maxDelay, delay * 2)) {
      if (this.#finishing.signal.aborted) throw new SagaError("GATEHOUSE_SAGA_CLOSED");
      const held = this.#held.result(id);
      if (held) return this.#settle(id, held);
      const claimed = await this.#log.claim(id, ...this.#claimTimes());
      if (claimed) return this.#settle(id, this.#drive(claimed));
      const record = await this.#log.find({ id });
      if (record && record.status !== "running" && record.status !== "compensating")
        return resultOf(record);
      await sleep(delay, undefined, { signal: this.#finishing.signal }).catch(() => {});
    }
  }

  #claimTimes(): [number, number, string[] | undefined] {
    const now = this.#clock.now();
    return [now, now + this.#settings.leaseMs, this.#live()];
  }

  /** On PGlite (one process per directory), a saga held by no live definition is orphaned. */
  #live(): string[] | undefined {
    return this.#kind === "pglite" ? [...liveOwners] : undefined;
  }
}

/** The result of an ended saga, from its log. */
function resultOf(record: SagaRecord): SagaResult {
  if (record.status === "completed")
    return { id: record.id, status: "completed", output: record.output ?? {} };
  return {
    id: record.id,
    status: record.status as "compensated" | "failed",
    error: record.error!,
  };
}
