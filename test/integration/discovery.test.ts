// DNS discovery over real sockets: a real (test) DNS server answers SRV records; the
// gateway serves the targets it names, follows changes, and keeps unchanged targets' state.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { startDnsServer } from "../helpers/dns-server.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** A config whose service `users` takes its targets from `_http._tcp.users.test` SRV records. */
const usersFromDns = (server: string, gateway: object = {}) =>
  testConfig({
    gateway,
    services: [
      {
        name: "users",
        discovery: {
          dns: { name: "_http._tcp.users.test", type: "SRV", interval: "1s", servers: [server] },
        },
      },
    ],
    routes: [{ name: "all", match: { paths: ["/*"] }, service: "users" }],
  });

describe("dns discovery", () => {
  it("serves SRV targets, follows record changes and keeps the state of targets that stay", async () => {
    const ups: Upstream[] = [];
    for (let i = 0; i < 3; i++) ups.push(await startUpstream((_req, res) => res.end(`up${i}`)));
    const srv = (indexes: number[]) =>
      indexes.map((i) => ({ priority: 10, weight: 1, port: ups[i]!.port, target: "127.0.0.1" }));
    const dns = await startDnsServer({ "_http._tcp.users.test": { SRV: srv([0, 1]), ttl: 1 } });
    const gw = await startGateway(usersFromDns(dns.address));
    const bodies = async (n: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const res = await request(`${gw.url}/u`);
        seen.add(`${res.statusCode} ${await res.body.text()}`);
      }
      return [...seen].sort();
    };
    try {
      await until(
        async () => (await bodies(4)).join() === "200 up0,200 up1",
        "the first answer",
        8000,
      );
      const up0 = gw.gateway.runtime.services
        .get("users")!
        .targets.find((t) => t.port === ups[0]!.port);
      dns.records.set("_http._tcp.users.test", { SRV: srv([0, 2]), ttl: 1 });
      await until(
        async () => (await bodies(4)).join() === "200 up0,200 up2",
        "the changed answer",
        8000,
      );
      const after = gw.gateway.runtime.services.get("users")!.targets;
      assert.equal(
        after.find((t) => t.port === ups[0]!.port),
        up0,
        "the target that stayed is the same object, state and all",
      );
      dns.mode = "servfail";
      await dns.received(dns.queries.length + 1);
      assert.deepEqual(
        await bodies(4),
        ["200 up0", "200 up2"],
        "a failing DNS keeps the last good set",
      );
    } finally {
      await gw.stop();
      await dns.close();
      for (const up of ups) await up.close();
    }
  });

  it("with worker threads, only the supervisor asks DNS and every worker serves its answers, with no config version", async () => {
    const ups: Upstream[] = [];
    for (let i = 0; i < 2; i++) ups.push(await startUpstream((_req, res) => res.end(`up${i}`)));
    const srv = (i: number) => [
      { priority: 10, weight: 1, port: ups[i]!.port, target: "127.0.0.1" },
    ];
    const dns = await startDnsServer({ "_http._tcp.users.test": { SRV: srv(0), ttl: 1 } });
    const started = Date.now();
    const gw = await startGateway(usersFromDns(dns.address, { workers: 2 }));
    // A connection of its own for each request: the kernel spreads them over both workers.
    const bodies = async (n: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const res = await request(`${gw.url}/u`, { reset: true });
        seen.add(`${res.statusCode} ${await res.body.text()}`);
      }
      return [...seen].sort().join();
    };
    const configVersion = async () =>
      (
        (await (await request(`${gw.statusUrl}/status`)).body.json()) as {
          config: { version: number };
        }
      ).config.version;
    try {
      await until(
        async () => (await bodies(8)) === "200 up0",
        "every worker serves the first answer",
        8000,
      );
      dns.records.set("_http._tcp.users.test", { SRV: srv(1), ttl: 1 });
      await until(
        async () => (await bodies(8)) === "200 up1",
        "every worker serves the change",
        8000,
      );
      assert.equal(await configVersion(), 1, "a discovered change is not a config version");
      // One question a second from the node (the supervisor's), not one from each thread.
      const elapsed = Date.now() - started;
      if (elapsed < 3000) await sleep(3000 - elapsed);
      const seconds = (Date.now() - started) / 1000;
      assert.ok(
        dns.queries.length <= Math.floor(seconds) + 2,
        `${dns.queries.length} questions in ${seconds} s`,
      );
    } finally {
      await gw.stop();
      await dns.close();
      for (const up of ups) await up.close();
    }
  });
});
