// Services written with the SDK, as real child processes, registered with a real gateway's
// registry and taking steady traffic through it: one killed with SIGKILL stops getting
// traffic within its TTL (its lease runs out and it leaves the targets) with no request
// failed, since the service retries; one stopped with SIGTERM deregisters, finishes the
// requests it was serving and exits, with no request failed even with retries off.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { exited } from "../helpers/child-process.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { watchService } from "../helpers/registry.ts";
import { type ServiceProcess, startServiceProcess } from "../helpers/sdk-service-process.ts";
import { startLoad } from "../helpers/steady-load.ts";
import { until } from "../helpers/until.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A gateway whose service `name` takes the registry's instances of `name`, on route `/*`. */
async function gatewayFor(name: string, retries: { attempts: number }) {
  const gw = await startGateway(
    testConfig({
      gateway: { registry: { listen: { host: "127.0.0.1", port: 0 } } },
      services: [{ name, discovery: { registry: { service: name } }, retries }],
      routes: [{ name, match: { paths: ["/*"] }, service: name }],
    }),
  );
  cleanups.push(() => gw.stop());
  const registry = `http://127.0.0.1:${gw.gateway.addresses().registry!.port}`;
  return { gw, registry };
}

/** Instances of `service` in processes of their own, named `names`, registered. */
async function instances(
  registry: string,
  service: string,
  names: string[],
  env: Record<string, string>,
): Promise<ServiceProcess[]> {
  const started = names.map((name) =>
    startServiceProcess({ REGISTRY: registry, SERVICE: service, INSTANCE_NAME: name, ...env }),
  );
  for (const instance of started) cleanups.push(() => instance.kill());
  await Promise.all(started.map((instance) => instance.waitFor("registered", 20_000)));
  return started;
}

/** Every answer through the gateway must be a 200 from one of `names`. */
function steadyLoad(gw: RunningGateway, names: string[], answered: { at: number; name: string }[]) {
  return startLoad({
    url: gw.url,
    path: (worker, n) => `/w${worker}/${n}`,
    check: (status, body) => {
      if (status !== 200) return `${status} ${body}`;
      const { name } = JSON.parse(body) as { name: string };
      if (!names.includes(name)) return `answered by ${name}`;
      answered.push({ at: Date.now(), name });
      return undefined;
    },
    workers: 4,
    maxRequests: 100_000,
    maxMs: 20_000,
  });
}

/** The targets the gateway's service `name` has now (from the status listener). */
async function targets(gw: RunningGateway, name: string): Promise<string[]> {
  const body = (await (await fetch(`${gw.statusUrl}/upstreams`)).json()) as {
    services: { name: string; targets: { url: string }[] }[];
  };
  return (body.services.find((service) => service.name === name)?.targets ?? []).map(
    (target) => target.url,
  );
}

async function retriesSoFar(gw: RunningGateway): Promise<number> {
  const text = await (await fetch(`${gw.statusUrl}/metrics`)).text();
  let total = 0;
  for (const [, value] of text.matchAll(/^gatehouse_upstream_retries_total\{[^}]*\} (\d+)/gm))
    total += Number(value);
  return total;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("sdk services behind the real gateway", () => {
  it("SIGKILL: out of the targets within its TTL, no request failed (retries on)", async () => {
    const ttl = 1_000;
    const { gw, registry } = await gatewayFor("killed", { attempts: 2 });
    const [a, b] = await instances(registry, "killed", ["a", "b"], { TTL: `${ttl}ms` });
    const watch = await watchService(registry, "killed");
    cleanups.push(async () => watch.close());
    await watch.next("snapshot");
    const answered: { at: number; name: string }[] = [];
    const load = steadyLoad(gw, ["a", "b"], answered);
    await until(
      () => answered.some((x) => x.name === "a") && answered.some((x) => x.name === "b"),
      "both instances to take traffic",
    );
    await pause(200);

    const killedAt = Date.now();
    await a!.kill();
    const down = await watch.next("down", 3 * ttl);
    const downAt = Date.now();
    assert.equal(down.data.id, a!.events.find((e) => e.event === "registered")!.id);
    // The last heartbeat was at most a third of the TTL before the kill: the lease runs out
    // within the TTL of it (room left for a loaded machine's timers).
    assert.ok(downAt - killedAt <= ttl + 300, `down ${downAt - killedAt} ms after the kill`);
    const port = (b!.events.find((e) => e.event === "listening")!.port as number) ?? 0;
    assert.deepEqual(await targets(gw, "killed"), [`http://127.0.0.1:${port}`]);
    const retriesAtDown = await retriesSoFar(gw);
    await pause(500);
    const result = await load.stop();

    assert.equal(result.failures, 0, result.examples.join("\n"));
    assert.ok(retriesAtDown > 0, "the load met the killed instance: retries answered for it");
    assert.equal(await retriesSoFar(gw), retriesAtDown, "no try went to it once it was down");
    assert.ok(answered.filter((x) => x.at > downAt).length > 10, "traffic went on after");
  });

  it("SIGTERM: deregisters, drains the requests in flight, exits; none failed (retries off)", async () => {
    const { gw, registry } = await gatewayFor("drained", { attempts: 0 });
    const [c] = await instances(registry, "drained", ["c", "d"], { SLOW_MS: "100" });
    const watch = await watchService(registry, "drained");
    cleanups.push(async () => watch.close());
    await watch.next("snapshot");
    const answered: { at: number; name: string }[] = [];
    const load = steadyLoad(gw, ["c", "d"], answered);
    await until(
      () => answered.filter((x) => x.name === "c").length >= 4,
      "c to take traffic",
      5_000,
    );

    // Signalled while c is at work on a request (a starved machine may leave gaps).
    await until(
      () => c!.events.some((e) => e.event === "request" && e.at > Date.now() - 50),
      "a request at c in flight",
      5_000,
    );
    const signalledAt = Date.now();
    c!.process.kill("SIGTERM");
    const deleted = await watch.next("delete", 5_000);
    assert.equal(deleted.data.id, c!.events.find((e) => e.event === "registered")!.id);
    await exited(c!.process);
    const exitedAt = Date.now();
    assert.equal(c!.process.signalCode, "SIGTERM", "it ends by the signal, once drained");
    await pause(500);
    const result = await load.stop();

    assert.equal(result.failures, 0, result.examples.join("\n"));
    // Requests c had started within its 100 ms of work before the signal were in flight.
    const inFlight = c!.events.filter(
      (e) => e.event === "request" && e.at > signalledAt - 100 && e.at <= signalledAt,
    );
    assert.ok(inFlight.length > 0, "c was serving requests when the signal came");
    assert.ok(
      answered.some((x) => x.name === "c" && x.at >= signalledAt),
      "c's requests in flight were answered after the signal",
    );
    assert.ok(answered.every((x) => x.at <= exitedAt || x.name === "d"));
    assert.ok(answered.filter((x) => x.at > exitedAt).length > 10, "traffic went on after");
  });
});
