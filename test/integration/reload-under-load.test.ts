// Reload under load: steady keep-alive traffic and open WebSocket tunnels while the
// config file is rewritten 50 times (routes and targets added and removed, one invalid
// version in the middle). Every request on the routes that stay is answered 200 by one of
// their upstreams, no tunnel on a kept route drops, a target marked down by its probes and
// a target whose breaker is open are still so afterwards, and the heap comes back to
// within 10% of where it was. Each rewrite is waited for through the provider's events.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { request } from "undici";
import { WebSocket, WebSocketServer } from "ws";
import type { GatehouseConfigInput } from "../../src/config/schema/index.ts";
import { Gateway } from "../../src/gateway.ts";
import { FileProvider } from "../../src/providers/file.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { nextReload } from "../helpers/reload-events.ts";
import { echoOnce, openSocket, startEchoLoop, startLoad } from "../helpers/steady-load.ts";

const rewrites = 50;
const invalidAt = 25;

/** An upstream answering every request with its name (and 503 on /health if `sick`). */
async function nameServer(name: string, sick = false): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === "/health") res.writeHead(sick ? 503 : 200).end();
    else if (name === "flaky") res.writeHead(500).end(name);
    else res.end(name);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A WebSocket upstream that echoes every message as `echo:<message>`. */
async function echoServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.end("plain"));
  const wss = new WebSocketServer({ server });
  wss.on("connection", (socket) => socket.on("message", (data) => socket.send(`echo:${data}`)));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  server.once("close", () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The heap in use after full collections; `gc` is reached even without --expose-gc. */
function heapAfterGc(): number {
  if (typeof globalThis.gc !== "function") setFlagsFromString("--expose-gc");
  const gc = (globalThis.gc ?? runInNewContext("gc")) as () => void;
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

type Urls = Record<"a" | "b" | "c" | "d" | "sick" | "flaky" | "ws", string>;

/**
 * Version `v` of the config. Kept throughout: routes `stable` (service `stable`: a, b and
 * the sick target, plus c in odd versions), `ws` and `flaky`. Churned: route `fresh-v`
 * (only in version v), up to six `extra-k` routes, and the `churn` service's targets.
 */
function version(v: number, urls: Urls): GatehouseConfigInput {
  const churnTargets = [[urls.c], [urls.d], [urls.c, urls.d]][v % 3]!;
  const stableTargets = [urls.a, urls.b, urls.sick, ...(v % 2 === 1 ? [urls.c] : [])];
  return {
    gateway: {
      listen: [{ host: "127.0.0.1", port: 0 }],
      status: { host: "127.0.0.1", port: 0 },
      shutdownTimeout: "1s",
      reload: { watch: true, debounce: "20ms", webSocketGrace: "200ms" },
      accessLog: { enabled: false },
      log: { level: "silent" },
    },
    services: [
      {
        name: "stable",
        targets: stableTargets.map((url) => ({ url })),
        healthCheck: { active: { interval: "100ms", healthyThreshold: 1, unhealthyThreshold: 1 } },
      },
      {
        name: "flaky",
        targets: [{ url: urls.flaky }],
        circuitBreaker: { window: "10s", minRequests: 4, failureRatio: 0.5, openDuration: "5m" },
      },
      { name: "ws", targets: [{ url: urls.ws }] },
      { name: "churn", targets: churnTargets.map((url) => ({ url })) },
    ],
    routes: [
      { name: "stable", match: { paths: ["/stable/*"] }, service: "stable" },
      { name: "ws", match: { paths: ["/ws/*"] }, service: "ws" },
      { name: "flaky", match: { paths: ["/flaky/*"] }, service: "flaky" },
      { name: `fresh-${v}`, match: { paths: [`/fresh/${v}/*`] }, service: "churn" },
      ...Array.from({ length: v % 7 }, (_, k) => ({
        name: `extra-${k}`,
        match: { paths: [`/extra/${k}/*`] },
        service: "churn",
      })),
    ],
  };
}

describe("reload under load", () => {
  it("serves every request, keeps tunnels and target state, and does not leak over 50 rewrites", async () => {
    const names = ["a", "b", "c", "d", "flaky"] as const;
    const servers = await Promise.all([
      ...names.map((name) => nameServer(name)),
      nameServer("sick", true),
      echoServer(),
    ]);
    const urls = Object.fromEntries(
      [...names, "sick", "ws"].map((name, i) => [name, servers[i]!.url]),
    ) as Urls;
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-reload-load-"));
    const file = join(dir, "gatehouse.yaml");
    // Renamed into place, as editors and config tools do: the watcher never sees half a file.
    const write = async (text: string) => {
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
    };
    await write(JSON.stringify(version(0, urls), null, 2));
    const startup = await validateConfigFile(file);
    const gateway = new Gateway(startup);
    await gateway.start();
    const provider = new FileProvider({ file, control: gateway.control, startup });
    const { proxy, status } = gateway.addresses();
    const base = `http://127.0.0.1:${proxy[0]!.port}`;
    const statusUrl = `http://127.0.0.1:${status!.port}`;
    /** The next applied or refused reload (a watcher's no-op looks are skipped). */
    const settled = () =>
      nextReload(
        provider,
        (event) => event.result === "applied" || event.result === "refused",
        "a reload applied or refused",
      );
    const get = async (path: string) => {
      const res = await request(`${base}${path}`);
      return `${res.statusCode} ${await res.body.text()}`;
    };
    const upstreams = async () => {
      const res = await request(`${statusUrl}/upstreams`);
      const view = (await res.body.json()) as {
        services: { name: string; targets: { url: string; health: string; breaker: string }[] }[];
      };
      return view.services.flatMap((s) => s.targets.map((t) => ({ service: s.name, ...t })));
    };
    const stateOf = async (url: string) => (await upstreams()).find((t) => t.url === url);
    const sockets: WebSocket[] = [];
    try {
      // Wait out the look the watcher takes when it begins (nothing changed).
      const first = once(provider, "reload");
      provider.watch();
      await first;

      // Before the storm: the sick target is down by its probes, flaky's breaker is open.
      for (let i = 0; i < 100 && (await stateOf(urls.sick))?.health !== "unhealthy"; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      for (let i = 0; i < 20 && (await stateOf(urls.flaky))?.breaker !== "open"; i++)
        await get(`/flaky/${i}`);
      const sickBefore = await stateOf(urls.sick);
      const flakyBefore = await stateOf(urls.flaky);
      assert.equal(sickBefore?.health, "unhealthy", "the sick target failed its probes");
      assert.equal(flakyBefore?.breaker, "open", "flaky's breaker opened");
      const stableTargets = gateway.runtime.services.get("stable")!.targets;
      const flakyTarget = gateway.runtime.services.get("flaky")!.targets[0];

      for (let i = 0; i < 3; i++) sockets.push(await openSocket(`ws://${base.slice(7)}/ws/${i}`));
      const echoes = sockets.map((socket) => startEchoLoop(socket, 20));
      const load = startLoad({
        url: base,
        path: (w, n) => `/stable/${w}/${n}`,
        // c joins the stable service in odd versions and leaves in even ones; sick never answers.
        check: (code, body) =>
          code === 200 && ["a", "b", "c"].includes(body) ? undefined : `${code} ${body}`,
        workers: 4,
        maxRequests: 200_000,
        maxMs: 25_000,
      });
      // Warm up under load before the heap is measured, so it holds what steady serving needs.
      while (load.requests < 2_000) await new Promise((resolve) => setTimeout(resolve, 10));
      const heapBefore = heapAfterGc();

      const startedAt = Date.now();
      const outcomes: string[] = [];
      for (let v = 1; v <= rewrites; v++) {
        const next = settled();
        const text = JSON.stringify(version(v, urls), null, 2);
        // The invalid version sends a route to a service that does not exist.
        await write(
          v === invalidAt ? text.replace('"service": "churn"', '"service": "nope"') : text,
        );
        const event = await next;
        outcomes.push(event.result);
        if (event.result === "applied") {
          // Applied means serving: the route only this version has answers at once.
          assert.match(await get(`/fresh/${v}/x`), /^200 [cd]$/, `version ${v} serves`);
        } else {
          assert.ok(
            event.result === "refused" && v === invalidAt,
            `version ${v}: ${JSON.stringify(event)}`,
          );
          assert.match(event.problems.join("\n"), /nope/);
          assert.match(await get(`/fresh/${v - 1}/x`), /^200 [cd]$/, "the last good serves");
          assert.equal(await get(`/fresh/${v}/x`).then((text) => text.slice(0, 3)), "404");
        }
      }
      const stormMs = Date.now() - startedAt;
      const result = await load.stop();
      const tunnels = await Promise.all(echoes.map((echo) => echo.stop()));

      assert.equal(outcomes.filter((o) => o === "applied").length, rewrites - 1);
      assert.equal(outcomes[invalidAt - 1], "refused");
      assert.equal(result.failures, 0, `failed requests:\n${result.examples.join("\n")}`);
      assert.ok(result.requests > 2_000, `load kept running (${result.requests} requests)`);
      for (const [i, tunnel] of tunnels.entries()) {
        assert.deepEqual(tunnel.problems, [], `tunnel ${i}`);
        assert.ok(tunnel.roundTrips > 0, `tunnel ${i} echoed during the storm`);
      }
      // Past the grace period a wrongly scheduled close would have happened.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const [i, socket] of sockets.entries()) {
        assert.equal(socket.readyState, WebSocket.OPEN, `tunnel ${i} is open`);
        assert.equal(await echoOnce(socket, `after-${i}`), `echo:after-${i}`);
      }
      assert.equal(gateway.tunnelCount, 3);

      // The same target objects, state and all, as users see it at /upstreams.
      const stableNow = gateway.runtime.services.get("stable")!.targets;
      for (const target of stableTargets) assert.ok(stableNow.includes(target), target.url);
      assert.equal(gateway.runtime.services.get("flaky")!.targets[0], flakyTarget);
      assert.equal((await stateOf(urls.sick))?.health, "unhealthy", "sick is still down");
      assert.equal((await stateOf(urls.flaky))?.breaker, "open", "flaky's breaker is still open");

      const heapAfter = heapAfterGc();
      const growth = (heapAfter - heapBefore) / heapBefore;
      const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
      console.log(
        `reload under load: ${rewrites} rewrites in ${stormMs} ms, ${result.requests} requests, ` +
          `heap ${mb(heapBefore)} -> ${mb(heapAfter)} (${(growth * 100).toFixed(1)}%)`,
      );
      assert.ok(growth < 0.1, `heap grew ${(growth * 100).toFixed(1)}% over ${rewrites} reloads`);
    } finally {
      for (const socket of sockets) socket.terminate();
      provider.close();
      await gateway.stop();
      for (const { server } of servers) {
        server.closeAllConnections();
        server.close();
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});
