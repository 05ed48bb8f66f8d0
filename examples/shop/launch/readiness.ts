/**
 * @module examples/shop/launch/readiness
 * When the shop is ready for the flow: the gateway says every service has a healthy
 * instance (`/ready` on its status listener), the users service publishes its keys, the
 * gateway has them (a token signed by a stranger is refused as invalid, not for want of
 * keys), and the front end and a product list come back through the gateway.
 */
import { generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import type { LaunchPlan } from "./plan.ts";

const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
/** A well-formed token no shop key signed: once the gateway has the key set, it is refused as invalid. */
const strangersToken = new SignJWT({ user_id: "readiness-probe" })
  .setProtectedHeader({ alg: "RS256", kid: "readiness-probe" })
  .setIssuer("shop-users")
  .setExpirationTime("1h")
  .sign(stranger);

/** Undefined once the gateway checks tokens against the users service's keys. */
async function tokensNotCheckedBecause(plan: LaunchPlan): Promise<string | undefined> {
  const url = `http://${plan.host}:${plan.ports.gateway}/api/v1/users/me`;
  try {
    const answer = await fetch(url, {
      headers: { authorization: `Bearer ${await strangersToken}` },
      signal: AbortSignal.timeout(2000),
    });
    const body = (await answer.json().catch(() => ({}))) as { error?: { code?: string } };
    if (answer.status === 401 && body.error?.code === "GATEHOUSE_INVALID_TOKEN") return undefined;
    return `the gateway cannot check tokens yet (${url} answered ${answer.status} ${body.error?.code ?? ""})`;
  } catch (error) {
    return `the gateway cannot check tokens yet (${url}: ${(error as Error).cause ?? (error as Error).message})`;
  }
}

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
  return tokensNotCheckedBecause(plan);
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
