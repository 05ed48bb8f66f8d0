/**
 * @module examples/shop/start
 * `npm run shop`: the whole demo shop with one command. It starts the front end's file
 * server, the gateway (the CLI with gatehouse.yaml) and the services: one process hosting
 * all five (embedded, the default), or with `SHOP_MODE=external` one process per service,
 * two of payments and inventory, on PostgreSQL, NATS and etcd. It prints the URL once the
 * flow works, and Ctrl-C (SIGINT, or SIGTERM) stops the services, then the gateway, each
 * with SIGTERM, and exits 0. A child that exits on its own stops the rest and exits 1.
 */
import { type Child, hasExited, startChild, stopChild } from "./launch/children.ts";
import { launchPlan } from "./launch/plan.ts";
import { waitUntilReady } from "./launch/readiness.ts";
import { type RunningWeb, startWeb } from "./services/web.ts";

const readyWithinMs = Number(process.env.SHOP_READY_TIMEOUT_MS) || 30_000;
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

let childGone!: (reason: string) => void;
const anyChildGone = new Promise<string>((resolve) => {
  childGone = resolve;
});
const watch = (child: Child) => {
  say(`started ${child.name} (pid ${child.process.pid})`);
  void child.ended.then(({ code, signal }) => {
    if (stopping) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    childGone(`${child.name} ${how}`);
    void stopAll(1, `${child.name} ${how}: stopping the shop`);
  });
  return child;
};

try {
  const env = { ...process.env, ...plan.env };
  say(`${plan.mode} mode`);
  gateway = watch(startChild("gateway", plan.gatewayArgs, env));
  for (const service of plan.services) {
    services.push(watch(startChild(service.label, service.args, { ...env, ...service.env })));
  }
  // The front end's file server, a service like the others: it registers as `web` with the
  // gateway's registry, which routes / to it (the launcher handles the signals).
  web = await startWeb(env, { handleSignals: false });
  await waitUntilReady(plan, readyWithinMs, anyChildGone);
} catch (error) {
  await stopAll(1, `could not start the shop: ${(error as Error).message}`);
}
const base = `http://${plan.host}:${plan.ports.gateway}`;
say(`ready: ${base}/ (the API at ${base}/api/v1, Ctrl-C stops it)`);
