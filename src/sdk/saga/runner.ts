/**
 * @module sdk/saga/runner
 * Drives one saga that this process holds, from wherever its log says it is: the steps
 * forward, each logged `running` before its action and `done` after it; on a failure, the
 * steps whose effect exists or may exist compensated in reverse order, each compensation
 * retried with backoff until it succeeds (or, with a limit, until the saga is `failed`).
 * A fresh saga and one resumed after a crash go through the same code.
 */
import { thrownError } from "../thrown-error.ts";
import type { SagaClock } from "./clock.ts";
import { compensationRetries, sagaRuns, stuckSagas } from "./metrics.ts";
import type { SagaLog, SagaRecord, StepRecord } from "./saga-log.ts";
import { withStepTimeout } from "./step-timeout.ts";
import type { SagaFailure, SagaResult, StepContext } from "./types.ts";

/** One step as the runner calls it. */
export interface RunnerStep {
  name: string;
  action: (input: unknown, ctx: StepContext) => Promise<unknown>;
  compensate?: (input: unknown, ctx: StepContext & { output: unknown }) => Promise<void>;
  timeoutMs: number;
}

/** What every saga of one definition is run with. */
export interface RunnerSettings {
  saga: string;
  steps: readonly RunnerStep[];
  log: SagaLog;
  clock: SagaClock;
  leaseMs: number;
  backoffMs: readonly number[];
  maxCompensationAttempts: number | undefined;
  /** Aborted when the definition is closing: no step or compensation attempt starts after. */
  finishing: AbortSignal;
}

/**
 * Runs the saga in `record` (claimed by this process) to its end and answers its result.
 * Rejects with `stop`'s reason when stopped, with `settings.finishing`'s before a step or a
 * compensation attempt would start once the definition is closing, with a `SagaAbandoned` when another process has
 * taken the saga over, and with the store's error when its log cannot be written: in each
 * case the log shows where it stopped, and the saga is resumed from there.
 */
export async function driveSaga(
  settings: RunnerSettings,
  record: SagaRecord,
  stop: AbortSignal,
): Promise<SagaResult> {
  const { log, steps } = settings;
  const byIndex = new Map(record.steps.map((row) => [row.step, row]));
  const changed = record.steps.find((row) => steps[row.step]?.name !== row.name);
  if (changed) {
    const failure: SagaFailure = {
      step: changed.name,
      message: `the log's step ${changed.step} is "${changed.name}", which the definition of saga "${settings.saga}" does not have there`,
      code: "GATEHOUSE_SAGA_DEFINITION_CHANGED",
    };
    await log.end(record.id, "failed", failure);
    return ended(settings, { id: record.id, status: "failed", error: failure });
  }
  if (record.status === "compensating")
    return compensate(settings, record, byIndex, record.error!, stop);

  const leaseUntil = () => settings.clock.now() + settings.leaseMs;
  const outputs = doneOutputs(steps, byIndex, steps.length);
  for (let index = 0; index < steps.length; index++) {
    if (byIndex.get(index)?.state === "done") continue;
    const step = steps[index]!;
    settings.finishing.throwIfAborted();
    const attempt = await log.startStep(record.id, index, step.name, leaseUntil());
    const row: StepRecord = {
      step: index,
      name: step.name,
      state: "running",
      attempts: attempt,
      compensationAttempts: byIndex.get(index)?.compensationAttempts ?? 0,
      output: null,
      error: null,
    };
    byIndex.set(index, row);
    let output: unknown;
    let returned = false;
    try {
      const result = await withStepTimeout(
        (signal) => step.action(record.input, context(record.id, step, attempt, signal, outputs)),
        step.timeoutMs,
        stop,
        `step "${step.name}"`,
      );
      returned = true;
      // The log keeps JSON: answer what a resumed run would read back.
      output = JSON.parse(JSON.stringify(result ?? null));
    } catch (error) {
      if (stop.aborted) throw stop.reason;
      const info = thrownError(error);
      const failure = returned
        ? { step: step.name, message: `the step's output is not JSON: ${info.message}` }
        : { step: step.name, ...info };
      // A step whose effect is unknown is compensated with the steps before it: it timed out
      // (it may still finish), an earlier run of it was interrupted and may have done its
      // work, or it did its work and returned what the log cannot keep.
      const unknown = failure.code === "GATEHOUSE_SAGA_STEP_TIMEOUT" || attempt > 1 || returned;
      row.state = unknown ? "compensating" : "failed";
      await log.failStep(record.id, index, row.state, failure, leaseUntil());
      return compensate(settings, record, byIndex, failure, stop);
    }
    outputs[step.name] = output;
    const last = index === steps.length - 1;
    await log.finishStep(record.id, index, output, leaseUntil(), last ? outputs : undefined);
    row.state = "done";
    row.output = output;
  }
  return ended(settings, { id: record.id, status: "completed", output: { ...outputs } });
}

/** Compensates, last first, every step that is `done` or was left `compensating`. */
async function compensate(
  settings: RunnerSettings,
  record: SagaRecord,
  byIndex: Map<number, StepRecord>,
  failure: SagaFailure,
  stop: AbortSignal,
): Promise<SagaResult> {
  const { log, steps, clock } = settings;
  const leaseUntil = () => clock.now() + settings.leaseMs;
  let stuck = false;
  try {
    for (let index = steps.length - 1; index >= 0; index--) {
      const row = byIndex.get(index);
      const step = steps[index]!;
      if (!row || (row.state !== "done" && row.state !== "compensating")) continue;
      // A step without a compensation has nothing to undo: it stays as it is.
      if (!step.compensate) continue;
      const outputs = doneOutputs(steps, byIndex, index);
      const output = row.output ?? undefined;
      for (let failures = 0; ; failures++) {
        settings.finishing.throwIfAborted();
        const attempt = await log.startCompensation(record.id, index, leaseUntil());
        row.state = "compensating";
        try {
          await withStepTimeout(
            (signal) =>
              step.compensate!(record.input, {
                ...context(record.id, step, attempt, signal, outputs),
                output,
              }),
            step.timeoutMs,
            stop,
            `compensation of step "${step.name}"`,
          );
        } catch (error) {
          if (stop.aborted) throw stop.reason;
          compensationRetries.inc({ saga: settings.saga, step: step.name });
          const info = thrownError(error);
          await log.failCompensation(record.id, index, info, leaseUntil());
          const max = settings.maxCompensationAttempts;
          if (max !== undefined && attempt >= max) {
            const gaveUp: SagaFailure = {
              step: step.name,
              message: `compensation failed ${attempt} times, the last with: ${info.message}`,
              code: "GATEHOUSE_SAGA_COMPENSATION_FAILED",
            };
            await log.end(record.id, "failed", gaveUp);
            return ended(settings, { id: record.id, status: "failed", error: gaveUp });
          }
          if (!stuck) stuckSagas.inc({ saga: settings.saga });
          stuck = true;
          const backoff = settings.backoffMs;
          await clock.sleep(
            backoff[Math.min(failures, backoff.length - 1)]!,
            AbortSignal.any([stop, settings.finishing]),
          );
          continue;
        }
        await log.finishCompensation(record.id, index, leaseUntil());
        row.state = "compensated";
        break;
      }
    }
  } finally {
    if (stuck) stuckSagas.dec({ saga: settings.saga });
  }
  await log.end(record.id, "compensated", failure);
  return ended(settings, { id: record.id, status: "compensated", error: failure });
}

function ended(settings: RunnerSettings, result: SagaResult): SagaResult {
  sagaRuns.inc({ saga: settings.saga, status: result.status });
  return result;
}

/** The outputs of the done steps before `end`, by name. */
function doneOutputs(
  steps: readonly RunnerStep[],
  byIndex: Map<number, StepRecord>,
  end: number,
): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (let index = 0; index < end; index++) {
    const row = byIndex.get(index);
    if (row?.state === "done") outputs[steps[index]!.name] = row.output;
  }
  return outputs;
}

function context(
  sagaId: string,
  step: RunnerStep,
  attempt: number,
  signal: AbortSignal,
  outputs: Record<string, unknown>,
): StepContext {
  return {
    sagaId,
    step: step.name,
    attempt,
    idempotencyKey: `${sagaId}:${step.name}`,
    signal,
    outputs: { ...outputs },
  };
}
