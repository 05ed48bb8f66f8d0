/**
 * @module discovery/dns.test
 * DNS discovery against a real UDP DNS server on loopback whose records the tests change;
 * re-resolution is driven by a ManualClock, and each test awaits the resolutions it fires.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type DnsServer, startDnsServer } from "../../test/helpers/dns-server.ts";
import { discoverySchema } from "../config/schema/upstream.ts";
import { ManualClock } from "../upstream/clock.ts";
import { type DnsResolveEvent, DnsSource } from "./dns.ts";
import type { DiscoveredTarget } from "./source.ts";
import { StaticSource } from "./static.ts";

/** A started DnsSource on a ManualClock: `emitted` holds every set it announced. */
function harness(server: DnsServer, dns: Record<string, unknown>) {
  const config = discoverySchema.parse({ dns: { interval: "30s", ...dns } }).dns!;
  const clock = new ManualClock();
  const emitted: DiscoveredTarget[][] = [];
  const events: DnsResolveEvent[] = [];
  let waiting: ((event: DnsResolveEvent) => void) | undefined;
  const source = new DnsSource(config, {
    servers: [server.address],
    clock,
    timeout: 200,
    tries: 1,
    onResolve: (event) => {
      events.push(event);
      waiting?.(event);
      waiting = undefined;
    },
  });
  const nextEvent = () => new Promise<DnsResolveEvent>((resolve) => (waiting = resolve));
  return {
    source,
    clock,
    emitted,
    events,
    /** Starts the source and waits for its first resolution. */
    start(): Promise<DnsResolveEvent> {
      const event = nextEvent();
      source.start((targets) => emitted.push(targets));
      return event;
    },
    /** Moves the clock `ms` (firing the due resolution) and waits for it. */
    after(ms: number): Promise<DnsResolveEvent> {
      const event = nextEvent();
      clock.advance(ms);
      return event;
    },
  };
}

async function withServer(
  records: Parameters<typeof startDnsServer>[0],
  run: (server: DnsServer) => Promise<void>,
) {
  const server = await startDnsServer(records);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

describe("DNS A/AAAA discovery", () => {
  test("A records become targets on the configured port", () =>
    withServer({ "users.test": { A: ["10.0.0.2", "10.0.0.1"], ttl: 60 } }, async (server) => {
      const h = harness(server, { name: "users.test", port: 8080 });
      const first = await h.start();
      assert.deepEqual(h.emitted, [
        [
          { url: "http://10.0.0.1:8080", weight: 1 },
          { url: "http://10.0.0.2:8080", weight: 1 },
        ],
      ]);
      assert.equal(first.changed, true);
      assert.equal(first.nextIn, 30_000, "interval, as it is shorter than the TTL");
      h.source.stop();
    }));

  test("AAAA records become bracketed URLs with the scheme", () =>
    withServer({ "v6.test": { AAAA: ["fd00::1", "fd00::a:2"] } }, async (server) => {
      const h = harness(server, { name: "v6.test", type: "AAAA", port: 8443, scheme: "https" });
      await h.start();
      assert.deepEqual(
        h.emitted[0]!.map((target) => target.url),
        ["https://[fd00::1]:8443", "https://[fd00::a:2]:8443"],
      );
      h.source.stop();
    }));

  test("a changed set is emitted; an unchanged one is not", () =>
    withServer({ "users.test": { A: ["10.0.0.1", "10.0.0.2"] } }, async (server) => {
      const h = harness(server, { name: "users.test", port: 80 });
      await h.start();

      server.records.set("users.test", { A: ["10.0.0.2", "10.0.0.1"] });
      const same = await h.after(30_000);
      assert.equal(same.changed, false, "same addresses in another order");
      assert.equal(h.emitted.length, 1);

      server.records.set("users.test", { A: ["10.0.0.2", "10.0.0.3"] });
      const changed = await h.after(30_000);
      assert.equal(changed.changed, true);
      assert.deepEqual(
        h.emitted.map((set) => set.map((target) => target.url)),
        [
          ["http://10.0.0.1:80", "http://10.0.0.2:80"],
          ["http://10.0.0.2:80", "http://10.0.0.3:80"],
        ],
      );
      h.source.stop();
    }));

  test("re-resolves when the shortest TTL runs out, no sooner than 1s", () =>
    withServer({ "users.test": { A: ["10.0.0.1"], ttl: 5 } }, async (server) => {
      const h = harness(server, { name: "users.test", port: 80 });
      const first = await h.start();
      assert.equal(first.nextIn, 5_000);
      h.clock.advance(4_999);
      assert.equal(server.queries.length, 1);

      server.records.set("users.test", { A: ["10.0.0.1"], ttl: 0 });
      const second = await h.after(1);
      assert.equal(server.queries.length, 2);
      assert.equal(second.nextIn, 1_000, "a zero TTL is floored");
      h.source.stop();
    }));

  test("on failure the last good set stands, and it is retried at interval", () =>
    withServer({ "users.test": { A: ["10.0.0.1"], ttl: 1 } }, async (server) => {
      const h = harness(server, { name: "users.test", port: 80, interval: "10s" });
      await h.start();

      server.mode = "servfail";
      const failed = await h.after(1_000);
      assert.ok(failed.error, "SERVFAIL is a failure");
      assert.equal(failed.nextIn, 10_000);

      server.mode = "drop";
      const timedOut = await h.after(10_000);
      assert.ok(timedOut.error, "no answer is a failure");

      server.mode = "answer";
      server.records.delete("users.test");
      const missing = await h.after(10_000);
      assert.ok(missing.error, "NXDOMAIN is a failure too");
      assert.deepEqual(h.emitted.length, 1, "nothing emitted: the last good set stands");

      server.records.set("users.test", { A: ["10.0.0.9"] });
      const back = await h.after(10_000);
      assert.equal(back.changed, true);
      assert.deepEqual(h.emitted.at(-1), [{ url: "http://10.0.0.9:80", weight: 1 }]);
      h.source.stop();
    }));

  test("a name server that is gone keeps the last good set", async () => {
    const server = await startDnsServer({ "users.test": { A: ["10.0.0.1"] } });
    const h = harness(server, { name: "users.test", port: 80 });
    await h.start();
    await server.close();
    const failed = await h.after(30_000);
    assert.ok(failed.error);
    assert.equal(h.emitted.length, 1);
    h.source.stop();
  });

  test("stop cancels the timer and drops a resolution in flight", () =>
    withServer({ "users.test": { A: ["10.0.0.1"] } }, async (server) => {
      const h = harness(server, { name: "users.test", port: 80 });
      await h.start();
      server.mode = "drop";
      h.clock.advance(30_000);
      await server.received(2);
      h.source.stop();
      server.mode = "answer";
      h.clock.advance(300_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(server.queries.length, 2);
      assert.equal(h.events.length, 1, "the cancelled query reported nothing");
    }));
});

describe("DNS SRV discovery", () => {
  test("the lowest priority group, with SRV weights and ports", () =>
    withServer(
      {
        "_http._tcp.users.test": {
          SRV: [
            { priority: 20, weight: 100, port: 9000, target: "backup.users.test" },
            { priority: 10, weight: 60, port: 8080, target: "a.users.test" },
            { priority: 10, weight: 0, port: 8081, target: "b.users.test" },
          ],
        },
      },
      async (server) => {
        const h = harness(server, { name: "_http._tcp.users.test", type: "SRV", interval: "15s" });
        const first = await h.start();
        assert.deepEqual(h.emitted, [
          [
            { url: "http://a.users.test:8080", weight: 60 },
            { url: "http://b.users.test:8081", weight: 1 },
          ],
        ]);
        assert.equal(first.nextIn, 15_000);

        server.records.set("_http._tcp.users.test", {
          SRV: [{ priority: 20, weight: 100, port: 9000, target: "backup.users.test" }],
        });
        await h.after(15_000);
        assert.deepEqual(h.emitted.at(-1), [{ url: "http://backup.users.test:9000", weight: 100 }]);
        h.source.stop();
      },
    ));
});

describe("static discovery", () => {
  test("emits the configured targets once, at start", () => {
    const source = new StaticSource([
      { url: "http://b:80", weight: 2 },
      { url: "http://a:80", weight: 1 },
    ]);
    const emitted: DiscoveredTarget[][] = [];
    source.start((targets) => emitted.push(targets));
    source.stop();
    assert.deepEqual(emitted, [
      [
        { url: "http://a:80", weight: 1 },
        { url: "http://b:80", weight: 2 },
      ],
    ]);
  });
});
