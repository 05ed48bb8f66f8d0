/**
 * @module sdk/saga/step-timeout
 * Runs one action or compensation attempt under its timeout: its signal is aborted when
 * the time is up (or when the runner stops), and the attempt is answered at that moment
 * whether or not the function heeds the signal.
 */
import { SagaError } from "./saga-error.ts";

/**
 * Resolves with `fn`'s result; rejects with `fn`'s error, with a `SagaError`
 * `GATEHOUSE_SAGA_STEP_TIMEOUT` after `timeoutMs`, or with `stop`'s reason when it aborts first.
 */
export async function withStepTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  stop: AbortSignal,
  what: string,
): Promise<T> {
  stop.throwIfAborted();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new SagaError(
        "GATEHOUSE_SAGA_STEP_TIMEOUT",
        `${what} did not finish within ${timeoutMs} ms`,
      );
      controller.abort(error);
      reject(error);
    }, timeoutMs);
    onStop = () => {
      controller.abort(stop.reason);
      reject(stop.reason);
    };
    stop.addEventListener("abort", onStop, { once: true });
  });
  // A synchronous throw from fn is its failure too; once the attempt is answered, a late
  // failure of fn has nobody to tell.
  const work = Promise.resolve().then(() => fn(controller.signal));
  work.catch(() => {});
  try {
    return await Promise.race([work, cut]);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", onStop!);
  }
}
