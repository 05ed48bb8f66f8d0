/**
 * @module sdk/saga/types
 * The public shapes of a saga: what an action and a compensation are given, what `run()`
 * answers, and what `status()` shows of the saga log.
 */
import type { Store } from "../store/store.ts";
import type { SagaClock } from "./clock.ts";

/** A duration: milliseconds, or text such as `250ms`, `30s`, `5m`. */
export type Duration = number | string;

/** What a saga is (or ended) in. */
export type SagaState = "running" | "compensating" | "completed" | "compensated" | "failed";

/**
 * What a step is in: its action `running`, `done` or `failed`; its compensation
 * `compensating` (started, possibly failed and being retried) or `compensated`.
 */
export type StepState = "running" | "done" | "failed" | "compensating" | "compensated";

/** Options of `saga(name, options)`. */
export interface SagaOptions {
  /** The store that holds the saga log (its `sagas` and `saga_steps` tables). */
  db: Store;
  /** How long an action (or one attempt of a compensation) may take; a step can override it. Default `30s`. */
  stepTimeout?: Duration;
  /**
   * The waits between failed attempts of a compensation; the last one repeats.
   * Default `["100ms", "1s", "5s", "30s"]`.
   */
  compensationBackoff?: Duration[];
  /**
   * How many attempts a compensation gets before the saga is given up as `failed`.
   * Default: no limit (a compensation is retried until it succeeds).
   */
  maxCompensationAttempts?: number;
  /**
   * How long a process holds a saga it runs without renewing its claim (it renews every
   * third of it); after that another process may resume the saga. Also how often the
   * definition looks for interrupted sagas to resume. Default `30s`.
   */
  lease?: Duration;
  /** The time source for leases and compensation backoff (tests pass their own). */
  clock?: SagaClock;
  /** Told about failures of background work (resuming a saga, renewing leases). Default: a process warning. */
  onError?: (error: Error) => void;
}

/** Options of one step. */
export interface StepOptions {
  /** Overrides the saga's `stepTimeout` for this step's action and compensation. */
  timeout?: Duration;
}

/** What an action is given beside the saga's input. */
export interface StepContext<Outputs = Record<string, unknown>> {
  /** The saga's id. */
  sagaId: string;
  /** The step's name. */
  step: string;
  /** 1 on the first run of this action or compensation, higher when it runs again. */
  attempt: number;
  /**
   * `${sagaId}:${step}`: the same for every run of this step's action and of its
   * compensation. Pass it to whatever the step changes, so a second run changes nothing more.
   */
  idempotencyKey: string;
  /** Aborted when the step's timeout passes, or when this process stops running the saga. */
  signal: AbortSignal;
  /** The outputs of the steps before this one, by step name. */
  outputs: Outputs;
}

/** What a compensation is given: a step context and the output of the step it undoes. */
export interface CompensationContext<Outputs = Record<string, unknown>, Output = unknown>
  extends StepContext<Outputs> {
  /** The action's output; `undefined` when it returned nothing or did not finish (it timed out or was interrupted). */
  output: Output | undefined;
}

/** A step's action: does the step's work and returns its output (JSON). */
export type StepAction<Input, Outputs, Output> = (
  input: Input,
  ctx: StepContext<Outputs>,
) => Promise<Output>;

/** A step's compensation: undoes what the step's action did. */
export type StepCompensation<Input, Outputs, Output> = (
  input: Input,
  ctx: CompensationContext<Outputs, Output>,
) => Promise<void>;

/** Options of `run()`. */
export interface RunOptions {
  /** Runs with the same key (for this saga's name) are one saga: one run, one result. */
  idempotencyKey?: string;
  /** The saga's id; a random UUID when not given. A second run with the same id answers that saga's result. */
  id?: string;
}

/** Which step failed, and how. */
export interface SagaFailure {
  step: string;
  message: string;
  code?: string;
}

/** What `run()` answers once the saga has ended. */
export interface SagaResult<Outputs = Record<string, unknown>> {
  id: string;
  status: "completed" | "compensated" | "failed";
  /** Every step's output by step name, when `completed`. */
  output?: Outputs;
  /** The step that failed: when `compensated`, the action; when `failed`, the compensation that gave up. */
  error?: SagaFailure;
}

/** One step of the saga log. */
export interface StepStatus {
  name: string;
  state: StepState;
  /** How many times the action was started. */
  attempts: number;
  /** How many times the compensation was started. */
  compensationAttempts: number;
  output?: unknown;
  /** The last error of the action, or of its compensation. */
  error?: { message: string; code?: string };
}

/** A saga as its log shows it, from `definition.status(id)`. */
export interface SagaStatus {
  id: string;
  name: string;
  status: SagaState;
  input: unknown;
  output?: Record<string, unknown>;
  error?: SagaFailure;
  idempotencyKey?: string;
  steps: StepStatus[];
}
