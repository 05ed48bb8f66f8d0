/**
 * @module upstream/health/active.test
 * Active checks against real HTTP, HTTPS and TCP servers on loopback; probe timing is
 * driven by a ManualClock, and each test awaits the probes it fires.
 */
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createServer as createTcpServer, type Server } from "node:net";
import { after, describe, test } from "node:test";
import { selfSignedCertificate } from "../../../test/helpers/certificates.ts";
import { startUpstream } from "../../../test/helpers/upstream.ts";
import { healthCheckSchema } from "../../config/schema/upstream.ts";
import type { HealthChangeMessage } from "../../observability/diagnostics.ts";
import { ManualClock } from "../clock.ts";
import type { Outcome } from "../outcome.ts";
import { type ActiveHealth, Target } from "../target.ts";
import {
  ActiveHealthChecker,
  type ActiveHealthCheckerOptions,
  maxProbeBodyBytes,
  type ProbeResult,
  probeTick,
} from "./active.ts";

type Reply = (req: IncomingMessage, res: ServerResponse) => void;

/** An upstream whose answer the test swaps: `reply` is read per request. */
async function controllable(initial: Reply = ok) {
  const state = { reply: initial };
  const upstream = await startUpstream((req, res) => state.reply(req, res));
  return Object.assign(upstream, { state });
}

const ok: Reply = (_req, res) => res.end("OK");
const status =
  (code: number, body = ""): Reply =>
  (_req, res) => {
    res.statusCode = code;
    res.end(body);
  };
const hang: Reply = () => {};

const targets: Target[] = [];
function targetFor(url: string, health: ActiveHealth = "healthy"): Target {
  const target = new Target({ url, weight: 1, connectTimeout: 1_000 });
  target.health = health;
  targets.push(target);
  return target;
}
after(() => Promise.all(targets.map((target) => target.destroy())));

/** A checker on a ManualClock whose probes the test fires with `probe()` and awaits. */
function harness(active: Record<string, unknown>, options: ActiveHealthCheckerOptions = {}) {
  const config = healthCheckSchema.parse({ active: { interval: "10s", ...active } }).active!;
  const clock = new ManualClock();
  const changes: { url: string; from: ActiveHealth; to: ActiveHealth }[] = [];
  const results: ProbeResult[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const checker = new ActiveHealthChecker(config, clock, {
    random: () => 0,
    ...options,
    onChange: (target, from, to) => changes.push({ url: target.url, from, to }),
    onProbe: (_target, result) => {
      results.push(result);
      for (const waiter of waiters.filter((w) => results.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
  });
  /** Resolves with the next probe result (of any target). */
  const nextResult = (): Promise<ProbeResult> => {
    const count = results.length + 1;
    return new Promise((resolve) =>
      waiters.push({ count, resolve: () => resolve(results[count - 1]!) }),
    );
  };
  /** Resolves once `n` more probes have been counted. */
  const moreResults = (n: number): Promise<void> => {
    const count = results.length + n;
    return new Promise((resolve) => waiters.push({ count, resolve }));
  };
  // The clock stands still while a probe is on the wire, so the next probe is due exactly
  // one interval later; the first is due at once. Moving the clock further would also
  // fire the probe's timeout.
  let due = 0;
  return {
    config,
    clock,
    checker,
    changes,
    results,
    nextResult,
    moreResults,
    /** Starts probing `target`; its first probe is due now. */
    watch(target: Target): void {
      checker.watch(target);
      due = 0;
    },
    /** Moves the clock to the next probe, fires it and waits for its result. */
    async probe(): Promise<ProbeResult> {
      const result = nextResult();
      clock.advance(due);
      due = config.interval;
      return result;
    },
    async probes(n: number): Promise<ProbeResult[]> {
      const out: ProbeResult[] = [];
      for (let i = 0; i < n; i++) out.push(await this.probe());
      return out;
    },
  };
}

describe("active HTTP checks", () => {
  test("an unknown target turns healthy after healthyThreshold successes", async (t) => {
    const upstream = await controllable();
    t.after(() => upstream.close());
    const published: HealthChangeMessage[] = [];
    const listener = (message: unknown) => published.push(message as HealthChangeMessage);
    subscribe("gatehouse:upstream:health", listener);
    t.after(() => unsubscribe("gatehouse:upstream:health", listener));
    const h = harness({ healthyThreshold: 3 });
    const target = targetFor(upstream.url, "unknown");
    h.watch(target);

    await h.probes(2);
    assert.equal(target.health, "unknown");
    assert.equal(target.available(), false);
    await h.probe();
    assert.equal(target.health, "healthy");
    assert.equal(target.available(), true);
    assert.deepEqual(h.changes, [{ url: upstream.url, from: "unknown", to: "healthy" }]);
    assert.deepEqual(published, [{ target: upstream.url, from: "unknown", to: "healthy" }]);
    h.checker.close();
  });

  test("fall after unhealthyThreshold failures in a row; one blip does not flap", async (t) => {
    const upstream = await controllable();
    t.after(() => upstream.close());
    const h = harness({ unhealthyThreshold: 3, healthyThreshold: 2 });
    const target = targetFor(upstream.url);
    h.watch(target);

    upstream.state.reply = status(503);
    await h.probes(2);
    upstream.state.reply = ok;
    await h.probe();
    upstream.state.reply = status(503);
    await h.probes(2);
    assert.equal(target.health, "healthy", "two failures, a success, two failures: no fall");
    const [third] = await h.probes(1);
    assert.equal(third!.kind, "server-error");
    assert.equal(third!.detail, "status 503");
    assert.equal(target.health, "unhealthy");

    upstream.state.reply = ok;
    await h.probe();
    assert.equal(target.health, "unhealthy", "one success does not rise");
    await h.probe();
    assert.equal(target.health, "healthy");
    assert.deepEqual(
      h.changes.map(({ from, to }) => `${from}→${to}`),
      ["healthy→unhealthy", "unhealthy→healthy"],
    );
    h.checker.close();
  });

  test("expectedStatuses decide which statuses are healthy", async (t) => {
    const upstream = await controllable(status(204));
    t.after(() => upstream.close());

    const strict = harness({ expectedStatuses: [200], unhealthyThreshold: 1 });
    const a = targetFor(upstream.url);
    strict.watch(a);
    const [result] = await strict.probes(1);
    assert.deepEqual([result!.ok, result!.detail, a.health], [false, "status 204", "unhealthy"]);
    strict.checker.close();

    const lenient = harness({ expectedStatuses: [204, 429], healthyThreshold: 1 });
    const b = targetFor(upstream.url, "unhealthy");
    lenient.watch(b);
    await lenient.probe();
    assert.equal(b.health, "healthy");
    upstream.state.reply = status(429);
    assert.equal((await lenient.probe()).ok, true);
    upstream.state.reply = status(404);
    assert.equal((await lenient.probe()).ok, false);
    lenient.checker.close();
  });

  test("the body must match the pattern, within the first 64 KiB", async (t) => {
    const upstream = await controllable(status(200, '{"status": "up"}'));
    t.after(() => upstream.close());
    const h = harness({ body: '"status":\\s*"up"' });
    h.watch(targetFor(upstream.url));

    assert.equal((await h.probe()).ok, true);
    upstream.state.reply = status(200, '{"status": "down"}');
    const down = await h.probe();
    assert.deepEqual([down.ok, down.detail], [false, "status 200, body did not match"]);
    upstream.state.reply = status(200, `${"x".repeat(maxProbeBodyBytes)}"status":"up"`);
    assert.equal((await h.probe()).ok, false, "a match past 64 KiB is not read");
    upstream.state.reply = (_req, res) => {
      res.write('{"status":');
      setImmediate(() => res.end(' "up"}'));
    };
    assert.equal((await h.probe()).ok, true, "a body in several chunks");
    h.checker.close();
  });

  test("method, path, headers and Host are as configured", async (t) => {
    const upstream = await controllable();
    t.after(() => upstream.close());
    const h = harness({
      method: "HEAD",
      path: "/ready?deep=1",
      headers: { "X-Probe": "yes", "User-Agent": "probe/1" },
      host: "users.internal",
    });
    h.watch(targetFor(upstream.url));
    await h.probe();
    const [seen] = upstream.requests;
    assert.equal(seen!.method, "HEAD");
    assert.equal(seen!.url, "/ready?deep=1");
    assert.equal(seen!.headers.host, "users.internal");
    assert.equal(seen!.headers["x-probe"], "yes");
    assert.equal(seen!.headers["user-agent"], "probe/1");
    h.checker.close();

    const plain = harness({});
    plain.watch(targetFor(upstream.url));
    await plain.probe();
    const defaults = upstream.requests[1]!;
    assert.equal(defaults.method, "GET");
    assert.equal(defaults.url, "/health");
    assert.equal(defaults.headers.host, `127.0.0.1:${upstream.port}`, "the target's authority");
    assert.equal(defaults.headers["user-agent"], "gatehouse-health-check");
    plain.checker.close();
  });

  test("a target that does not answer within timeout fails with a timeout", async (t) => {
    const upstream = await controllable(hang);
    t.after(() => upstream.close());
    const h = harness({ timeout: "100ms", unhealthyThreshold: 1 });
    const target = targetFor(upstream.url);
    h.watch(target);

    const received = new Promise((resolve) => upstream.server.once("request", resolve));
    const result = h.nextResult();
    h.clock.advance(0);
    await received;
    h.clock.advance(99);
    h.clock.advance(1);
    const timedOut = await result;
    assert.deepEqual([timedOut.kind, timedOut.detail], ["timeout", "timeout after 100ms"]);
    assert.equal(timedOut.durationMs, 100);
    assert.equal(target.health, "unhealthy");
    h.checker.close();
  });

  test("outcomes are recorded by the target's breaker", async (t) => {
    const upstream = await controllable();
    t.after(() => upstream.close());
    const recorded: Outcome[] = [];
    const target = targetFor(upstream.url);
    target.breaker = {
      state: "closed",
      permits: () => true,
      onDispatch: () => {},
      record: (outcome) => recorded.push(outcome),
    };
    const h = harness({});
    h.watch(target);
    await h.probe();
    upstream.state.reply = status(500);
    await h.probe();
    assert.deepEqual(
      recorded.map((outcome) => outcome.kind),
      ["success", "server-error"],
    );
    assert.equal(target.inFlight, 0, "probes are not proxied traffic");
    h.checker.close();
  });

  test("jitter delays each probe by a random share of it", async (t) => {
    const upstream = await controllable();
    t.after(() => upstream.close());
    const h = harness({ interval: "5s", jitter: "1s" }, { random: () => 0.5 });
    h.watch(targetFor(upstream.url));
    const first = h.nextResult();
    h.clock.advance(499);
    assert.equal(upstream.requests.length, 0);
    h.clock.advance(1);
    await first;
    const second = h.nextResult();
    h.clock.advance(5_499);
    assert.equal(upstream.requests.length, 1);
    h.clock.advance(1);
    await second;
    assert.equal(upstream.requests.length, 2);
    h.checker.close();
  });
});

describe("probe ticks", () => {
  test("probe starts wait for the next tick, a twentieth of the interval", async (t) => {
    const upstream = await controllable();
    t.after(() => upstream.close());
    // 5 s interval: 250 ms ticks; jitter puts the first probe at 300 ms, the tick at 500.
    const h = harness({ interval: "5s", jitter: "1s" }, { random: () => 0.3 });
    h.watch(targetFor(upstream.url));
    const first = h.nextResult();
    h.clock.advance(499);
    assert.equal(upstream.requests.length, 0, "not before the tick");
    h.clock.advance(1);
    await first;
    h.checker.close();
    assert.equal(probeTick(5_000), 250);
    assert.equal(probeTick(60_000), 250, "never later than 250 ms");
    assert.equal(probeTick(100), 5);
  });

  test("targets due within one tick are probed together; tickMs 0 probes each on time", async (t) => {
    const upstream = await controllable();
    t.after(() => upstream.close());
    const shares = [0.05, 0.15];
    const h = harness({ interval: "5s", jitter: "1s" }, { random: () => shares.shift() ?? 0 });
    h.watch(targetFor(upstream.url));
    h.watch(targetFor(upstream.url));
    const both = h.moreResults(2);
    h.clock.advance(249);
    assert.equal(upstream.requests.length, 0);
    h.clock.advance(1);
    await both;
    h.checker.close();

    const onTime = harness({ interval: "5s", jitter: "1s" }, { random: () => 0.05, tickMs: 0 });
    onTime.watch(targetFor(upstream.url));
    const first = onTime.nextResult();
    onTime.clock.advance(50);
    await first;
    onTime.checker.close();
  });
});

describe("unwatch and close", () => {
  test("an unwatched target is never probed again", async (t) => {
    const keptUpstream = await controllable();
    const removedUpstream = await controllable();
    t.after(() => Promise.all([keptUpstream.close(), removedUpstream.close()]));
    const h = harness({});
    const kept = targetFor(keptUpstream.url);
    const removed = targetFor(removedUpstream.url);
    h.checker.sync([kept, removed]);
    for (let round = 0; round < 2; round++) {
      const both = h.moreResults(2);
      h.clock.advance(round === 0 ? 0 : h.config.interval);
      await both;
    }
    assert.equal(removedUpstream.requests.length, 2);

    h.checker.sync([kept]);
    assert.equal(h.checker.watches(removed), false);
    for (let round = 0; round < 3; round++) {
      const one = h.moreResults(1);
      h.clock.advance(h.config.interval);
      await one;
    }
    assert.equal(keptUpstream.requests.length, 5);
    assert.equal(removedUpstream.requests.length, 2, "no probe after unwatch");

    h.checker.close();
    h.clock.advance(h.config.interval * 10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(keptUpstream.requests.length, 5, "close stops every target's probes");
  });

  test("a probe in flight when its target is unwatched is aborted and ignored", async (t) => {
    const upstream = await controllable(hang);
    t.after(() => upstream.close());
    const h = harness({ unhealthyThreshold: 1, timeout: "1s" });
    const target = targetFor(upstream.url);
    h.watch(target);

    const received = new Promise<IncomingMessage>((resolve) =>
      upstream.server.once("request", resolve),
    );
    h.clock.advance(0);
    const req = await received;
    const closed = new Promise((resolve) => req.socket.once("close", resolve));
    h.checker.unwatch(target);
    await closed;
    h.clock.advance(h.config.interval * 10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(h.results, [], "the abandoned probe was not counted");
    assert.equal(target.health, "healthy");
    assert.equal(upstream.requests.length, 1);
  });

  test("watching again after unwatch starts afresh", async (t) => {
    const upstream = await controllable(status(503));
    t.after(() => upstream.close());
    const h = harness({ unhealthyThreshold: 2 });
    const target = targetFor(upstream.url);
    h.watch(target);
    await h.probe();
    h.checker.unwatch(target);
    h.watch(target);
    await h.probe();
    assert.equal(target.health, "healthy", "the failure before unwatch no longer counts");
    await h.probe();
    assert.equal(target.health, "unhealthy");
    h.checker.close();
  });
});

describe("active HTTPS checks", () => {
  test("probe over TLS, verifying the certificate", async (t) => {
    const { key, cert } = selfSignedCertificate();
    const server = createHttpsServer({ key, cert }, (_req, res) => res.end("OK"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as AddressInfo).port;
    const url = `https://127.0.0.1:${port}`;

    const trusting = harness({ type: "https", host: "localhost" }, { tls: { ca: cert } });
    trusting.watch(targetFor(url));
    const good = await trusting.probe();
    assert.deepEqual([good.ok, good.detail], [true, "status 200"]);
    trusting.checker.close();

    const untrusting = harness({ type: "https", unhealthyThreshold: 1 });
    const target = targetFor(url);
    untrusting.watch(target);
    const bad = await untrusting.probe();
    assert.deepEqual([bad.ok, bad.kind], [false, "connect-failure"]);
    assert.equal(target.health, "unhealthy");
    untrusting.checker.close();
    server.closeAllConnections();
  });
});

describe("active TCP checks", () => {
  test("a listening port is healthy; a refused connect is a failure", async () => {
    const server: Server = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const h = harness({ type: "tcp", unhealthyThreshold: 2, healthyThreshold: 1 });
    const target = targetFor(`http://127.0.0.1:${port}`, "unknown");
    h.watch(target);

    const up = await h.probe();
    assert.deepEqual([up.ok, up.kind], [true, "success"]);
    assert.equal(target.health, "healthy");

    await new Promise((resolve) => server.close(resolve));
    const [first, second] = await h.probes(2);
    assert.deepEqual(
      [first!.ok, first!.kind, first!.detail],
      [false, "connect-failure", "ECONNREFUSED"],
    );
    assert.equal(second!.ok, false);
    assert.equal(target.health, "unhealthy");
    h.checker.close();
  });

  test("a target that never came up reads unhealthy, not unknown", async () => {
    const port = await closedPort();
    const h = harness({ type: "tcp", unhealthyThreshold: 2 });
    const target = targetFor(`http://127.0.0.1:${port}`, "unknown");
    h.watch(target);
    await h.probes(2);
    assert.equal(target.health, "unhealthy");
    assert.deepEqual(
      h.changes.map(({ from, to }) => `${from}→${to}`),
      ["unknown→unhealthy"],
    );
    h.checker.close();
  });
});

describe("configuration", () => {
  test("a bad body pattern is a config error, caught before any checker exists", () => {
    const parsed = healthCheckSchema.safeParse({ active: { body: "(" } });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error!.issues[0]!.path, ["active", "body"]);
  });
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
