/**
 * @module examples/shop/start
 * `npm run shop`: the whole demo shop with one command. It starts the front end's file
 * server, the gateway (the CLI with gatehouse.yaml) and the services: one process hosting
 * all five (embedded, the default), or with `SHOP_MODE=external` one process per service,
 * two of payments and inventory, on PostgreSQL, NATS and etcd. It prints the URL once the
 * flow works, and Ctrl-C (SIGINT, or SIGTERM) stops the services, then the gateway, each
 * with SIGTERM, and exits 0. The gateway (or the embedded host) exiting on its own stops
 * the rest and exits 1.
 */
import { type Child, hasExited, startChild, stopChild } from "./launch/children.ts";
import { launchPlan } from "./launch/plan.ts";
import { waitUntilReady } from "./launch/readiness.ts";
import { type RunningWeb, startWeb } from "./services/web.ts";

// The shop is ready in well under 30 s on a quiet machine; a busy one gets more before giving up.
const readyWithinMs = Number(process.env.SHOP_READY_TIMEOUT_MS) || 60_000;
const startedAt = Date.now();
/** How long a child gets between SIGTERM and SIGKILL. */
const graceMs = 10_000;

const say = (line: string) => process.stdout.write(`[shop] ${line}\n`);

const plan = launchPlan(process.env);
if ("problems" in plan) {
  for (const problem of plan.problems) process.stderr.write(`[shop] ${problem}\n`);
  process.exit(2);
}

const services: Child[] = [];
let gateway: Child | undefined;
let web: RunningWeb | undefined;
let stopping: Promise<never> | undefined;

/** Stops everything, services first (they leave the registry through the gateway). */
function stopAll(code: number, why: string): Promise<never> {
  stopping ??= (async () => {
    say(why);
    await Promise.all([...services.map((child) => stopChild(child, graceMs)), web?.close()]);
    if (gateway) await stopChild(gateway, graceMs);
    say("stopped");
    process.exit(code);
  })();
  return stopping;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void stopAll(0, `${signal}: stopping`));
}
// However the launcher ends, its children (in process groups of their own) go too.
process.on("exit", () => {
  for (const child of [...services, ...(gateway ? [gateway] : [])]) {
    if (!hasExited(child)) child.process.kill("SIGKILL");
  }
});

let ready = false;
let childGone!: (reason: string) => void;
const anyChildGone = new Promise<string>((resolve) => {
  childGone = resolve;
});
/**
 * Before the shop is ready any exit fails the start. After, the gateway's (or the embedded
 * host's) stops the shop; one service instance of several may go (the gateway routes
 * around it: external mode shows that), so it is only reported.
 */
const watch = (child: Child, survivable: boolean) => {
  say(`started ${child.name} (pid ${child.process.pid})`);
  void child.ended.then(({ code, signal }) => {
    if (stopping) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (ready && survivable) {
      say(`${child.name} ${how}; the other instances carry on`);
      return;
    }
    childGone(`${child.name} ${how}`);
    void stopAll(1, `${child.name} ${how}: stopping the shop`);
  });
  return child;
};

try {
  const env = { ...process.env, ...plan.env };
  say(`${plan.mode} mode`);
  gateway = watch(startChild("gateway", plan.gatewayArgs, env), false);
  for (const service of plan.services) {
    const child = startChild(service.label, service.args, { ...env, ...service.env });
    services.push(watch(child, plan.mode === "external"));
  }
  // The front end's file server, a service like the others: it registers as `web` with the
  // gateway's registry, which routes / to it (the launcher handles the signals).
  web = await startWeb(env, { handleSignals: false });
  await waitUntilReady(plan, readyWithinMs, anyChildGone);
} catch (error) {
  await stopAll(1, `could not start the shop: ${(error as Error).message}`);
}
ready = true;
const base = `http://${plan.host}:${plan.ports.gateway}`;
say(
  `ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ${base}/ (the API at ${base}/api/v1, Ctrl-C stops it)`,
);
