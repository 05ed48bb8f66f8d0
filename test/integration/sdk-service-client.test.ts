// The SDK's serviceClient(): instances followed from a real HTTP server speaking the registry
// contract (test/helpers/registry-stub-server.ts), called on real upstream servers through
// the gateway's own selectors, outlier detection, breakers and retries.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import {
  type Registration,
  register,
  ServiceCallError,
  type ServiceClient,
  serviceClient,
  traceHandler,
  withCallContext,
} from "gatehouse-gateway/sdk";
import { type RegistryStub, startRegistryStub } from "../helpers/registry-stub-server.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Answers `{ name, url, headers }` as JSON. */
function named(name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      const body = JSON.stringify({ name, url: req.url, headers: req.headers });
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
  };
}

describe("sdk serviceClient()", () => {
  let stub: RegistryStub;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    stub = await startRegistryStub();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  after(async () => {
    await stub.close();
  });

  async function upstream(handler: (req: IncomingMessage, res: ServerResponse) => void) {
    const up = await startUpstream(handler);
    cleanups.push(() => up.close());
    return up;
  }

  async function registered(service: string, up: Upstream, ttl = "10s"): Promise<Registration> {
    const registration = await register({
      name: service,
      port: up.port,
      registry: stub.url,
      ttl,
      handleSignals: false,
    });
    cleanups.push(() => registration.close());
    return registration;
  }

  function client(
    service: string,
    options: Parameters<typeof serviceClient>[1] = {},
  ): ServiceClient {
    const made = serviceClient(service, { registry: stub.url, ...options });
    cleanups.push(() => made.close());
    return made;
  }

  async function names(calls: number, of: ServiceClient): Promise<string[]> {
    const answered: string[] = [];
    for (let i = 0; i < calls; i++) answered.push((await of.get<{ name: string }>("/who")).name);
    return answered;
  }

  const count = (list: string[], name: string) => list.filter((n) => n === name).length;

  it("balances calls over the service's instances (round-robin by default)", async () => {
    const a = await upstream(named("a"));
    const b = await upstream(named("b"));
    await registered("balanced", a);
    await registered("balanced", b);
    const balanced = client("balanced");
    await balanced.ready();
    assert.equal(balanced.instances.length, 2);
    const answered = await names(20, balanced);
    assert.equal(count(answered, "a"), 10);
    assert.equal(count(answered, "b"), 10);
  });

  it("sends no new call to an instance the registry removed or marked down", async () => {
    const a = await upstream(named("a"));
    const b = await upstream(named("b"));
    const c = await upstream(named("c"));
    const ra = await registered("shrinking", a);
    await registered("shrinking", b);
    // c registers itself by hand and never heartbeats: its lease runs out after 400 ms.
    const put = await fetch(`${stub.url}/registry/services/shrinking/instances/c`, {
      method: "PUT",
      body: JSON.stringify({ address: "127.0.0.1", port: c.port, ttl: "400ms" }),
    });
    assert.equal(put.status, 201);
    const shrinking = client("shrinking");
    await until(() => shrinking.instances.length === 3, "three instances");
    const before = await names(9, shrinking);
    assert.deepEqual([count(before, "a"), count(before, "b"), count(before, "c")], [3, 3, 3]);

    await ra.close();
    await until(() => shrinking.instances.length === 2, "the delete event");
    const aCalls = a.requests.length;
    const afterDelete = await names(6, shrinking);
    assert.equal(a.requests.length, aCalls, "no call to the deregistered instance");
    assert.equal(count(afterDelete, "a"), 0);

    await until(
      () => shrinking.instances.find((i) => i.id === "c")?.state === "down",
      "the down event",
      2_000,
    );
    const cCalls = c.requests.length;
    const afterDown = await names(6, shrinking);
    assert.deepEqual(afterDown, Array(6).fill("b"));
    assert.equal(c.requests.length, cCalls, "no call to the instance that is down");
  });

  it("retries a call that met a dead instance on another one: no call fails", async () => {
    const a = await upstream(named("a"));
    const b = await upstream(named("b"));
    await registered("dead", a);
    await registered("dead", b);
    const dead = client("dead");
    await until(() => dead.instances.length === 2, "two instances");
    await a.close(); // still registered: its lease has seconds to run
    const answered = await names(20, dead);
    assert.deepEqual(answered, Array(20).fill("b"));
  });

  it("opens a failing instance's breaker: the healthy one takes every call after", async () => {
    const failing = await upstream((req, res) => {
      req.resume();
      res.writeHead(500, { "content-type": "application/json" }).end('{"broken":true}');
    });
    const b = await upstream(named("b"));
    await registered("breaking", failing);
    await registered("breaking", b);
    const breaking = client("breaking", {
      circuitBreaker: { minRequests: 4, failureRatio: 0.5, window: "10s", openDuration: "30s" },
    });
    await until(() => breaking.instances.length === 2, "two instances");
    const failures: ServiceCallError[] = [];
    for (let i = 0; i < 12; i++) {
      try {
        await breaking.get("/x");
      } catch (error) {
        assert.ok(error instanceof ServiceCallError);
        failures.push(error);
      }
    }
    // Round-robin: the failing instance's breaker opened at its fourth answer.
    assert.equal(failing.requests.length, 4);
    assert.equal(failures.length, 4);
    const first = failures[0]!;
    assert.equal(first.code, "GATEHOUSE_UPSTREAM_ERROR_STATUS");
    assert.equal(first.response?.status, 500);
    assert.deepEqual(first.response?.json, { broken: true });
    assert.equal(first.target, `http://127.0.0.1:${failing.port}`);
    assert.equal(b.requests.length, 8);
  });

  it("fails with the catalogue's codes: no instance, timeout, an answer too large", async () => {
    const none = client("nobody-home");
    await assert.rejects(
      none.get("/x"),
      (error: unknown) =>
        error instanceof ServiceCallError &&
        error.code === "GATEHOUSE_NO_AVAILABLE_TARGET" &&
        error.status === 503,
    );
    const slow = await upstream((req, res) => {
      req.resume();
      setTimeout(() => res.end("{}"), 1_000);
    });
    await registered("slow", slow);
    const slowClient = client("slow", { timeout: 150, retries: 0 });
    const started = Date.now();
    await assert.rejects(
      slowClient.get("/x"),
      (error: unknown) =>
        error instanceof ServiceCallError && error.code === "GATEHOUSE_UPSTREAM_TIMEOUT",
    );
    assert.ok(Date.now() - started < 800, "the call's deadline ended it");
    const big = await upstream((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" }).end(`"${"x".repeat(5000)}"`);
    });
    await registered("big", big);
    await assert.rejects(
      client("big", { maxResponseSize: "1kb" }).get("/x"),
      (error: unknown) =>
        error instanceof ServiceCallError && error.code === "GATEHOUSE_RESPONSE_TOO_LARGE",
    );
    assert.throws(() => client("bad", { retries: 99 }), /retries\.attempts/);
  });

  it("carries the current request's id, trace and remaining deadline", async () => {
    const echo = await upstream(named("echo"));
    await registered("echoing", echo);
    const echoing = client("echoing");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
    });
    const seen = await withCallContext(
      { requestId: "req-42", trace: parent, deadline: Date.now() + 3_000 },
      () => echoing.get<{ headers: Record<string, string> }>("/x"),
    );
    assert.equal(seen.headers["x-request-id"], "req-42");
    assert.match(seen.headers.traceparent ?? "", new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const left = Number(seen.headers["x-request-timeout-ms"]);
    assert.ok(left > 2_000 && left <= 3_000, `${left} ms left`);

    const alone = await echoing.get<{ headers: Record<string, string> }>("/x");
    assert.match(alone.headers["x-request-id"] ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(alone.headers["x-request-timeout-ms"], undefined, "no deadline, no header");
  });

  it("passes a handled request's context on through traceHandler", async () => {
    const inner = await upstream(named("inner"));
    await registered("inner", inner);
    const innerClient = client("inner");
    const outer = createServer(
      traceHandler(async (_req, res) => {
        const answer = await innerClient.get("/deeper");
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
      }),
    );
    await new Promise<void>((resolve) => outer.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => outer.close(resolve)));
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const response = await fetch(`http://127.0.0.1:${(outer.address() as AddressInfo).port}/`, {
      headers: {
        traceparent: `00-${traceId}-b7ad6b7169203331-01`,
        "x-request-id": "outer-7",
        "x-request-timeout-ms": "5000",
      },
    });
    assert.equal(response.headers.get("x-request-id"), "outer-7");
    const seen = (await response.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers["x-request-id"], "outer-7");
    assert.match(seen.headers.traceparent ?? "", new RegExp(`^00-${traceId}-`));
    const left = Number(seen.headers["x-request-timeout-ms"]);
    assert.ok(left > 4_000 && left <= 5_000, `${left} ms left`);
  });

  it("keeps its instances while the registry is away and follows it again when it is back", async () => {
    const a = await upstream(named("a"));
    await registered("steady", a, "30s");
    const steady = client("steady");
    await until(() => steady.instances.length === 1, "one instance");
    await stub.stop();
    assert.deepEqual(await names(3, steady), ["a", "a", "a"]);
    await stub.start();
    const b = await upstream(named("b"));
    await registered("steady", b);
    await until(() => steady.instances.length === 2, "the new instance, after reconnecting", 8_000);
    assert.equal(count(await names(4, steady), "b"), 2);
  });
});
