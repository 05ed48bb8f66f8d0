/**
 * @module test/helpers/until
 * Waits for something a test cannot be told about (a probe's verdict, a background fetch,
 * a worker restarting) by asking again every few milliseconds, within a bound.
 */

/** Resolves once `condition` holds; fails with `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
