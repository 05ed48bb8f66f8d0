/**
 * @module examples/shop/launch/readiness
 * When the shop is ready for the flow: the gateway says every service has a healthy
 * instance (`/ready` on its status listener), the users service publishes its keys (so a
 * token can be checked), the front end and a product list come back through the gateway.
 */
import type { LaunchPlan } from "./plan.ts";

/** One look: undefined when ready, else what is not. */
export async function notReadyBecause(plan: LaunchPlan): Promise<string | undefined> {
  const { host, ports } = plan;
  const checks: [string, string][] = [
    ["the gateway's services are not all healthy yet", `http://${host}:${ports.status}/ready`],
    [
      "the users service's keys are not served yet",
      `http://${host}:${ports.jwks}/.well-known/jwks.json`,
    ],
    ["the front end is not served through the gateway yet", `http://${host}:${ports.gateway}/`],
    [
      "products are not listed through the gateway yet",
      `http://${host}:${ports.gateway}/api/v1/products?page=1&page_size=1`,
    ],
  ];
  for (const [reason, url] of checks) {
    try {
      const answer = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await answer.arrayBuffer();
      if (answer.status !== 200) return `${reason} (${url} answered ${answer.status})`;
    } catch (error) {
      return `${reason} (${url}: ${(error as Error).cause ?? (error as Error).message})`;
    }
  }
  return undefined;
}

/**
 * Resolves once ready; rejects after `timeoutMs` with the last reason, or as soon as
 * `abandoned` resolves (a child exited meanwhile) with its reason.
 */
export async function waitUntilReady(
  plan: LaunchPlan,
  timeoutMs: number,
  abandoned: Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gaveUp: string | undefined;
  void abandoned.then((reason) => {
    gaveUp = reason;
  });
  let reason: string | undefined = "nothing was checked";
  while (Date.now() < deadline) {
    if (gaveUp !== undefined) throw new Error(gaveUp);
    reason = await notReadyBecause(plan);
    if (reason === undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not ready within ${timeoutMs / 1000} s: ${reason}`);
}
