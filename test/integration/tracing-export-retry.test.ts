// Exports to a collector that refuses: which refusals are retried, after how long, within
// what budget, and what the gateway's /metrics says about exports that failed.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { request } from "undici";
import { JsonWriter } from "../../src/observability/tracing/json-writer.ts";
import { OtlpHttpSender, type RetryClock } from "../../src/observability/tracing/otlp-http.ts";
import {
  exportEnvelope,
  SERVER,
  writeSpanEnd,
  writeSpanStart,
} from "../../src/observability/tracing/otlp-json.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { startOtlpReceiver } from "../helpers/otlp-receiver.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

/** A clock whose sleeps return at once, moving its time on and noting each wait. */
function steppingClock(): RetryClock & { waits: number[] } {
  let offset = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => Date.now() + offset,
    sleep: async (ms) => {
      waits.push(ms);
      offset += ms;
    },
  };
}

/** One export request with one span, as the gateway sends it. */
function exportBody(): Buffer {
  const { head, tail } = exportEnvelope(
    { "service.name": "test" },
    { name: "gatehouse", version: "0" },
  );
  const out = new JsonWriter(Buffer.alloc(1024));
  out.utf8(head);
  writeSpanStart(out, {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    parentSpanId: "",
    traceState: "",
    name: "GET",
    kind: SERVER,
    startMs: Date.now() - 5,
    endMs: Date.now(),
  });
  writeSpanEnd(out, false);
  out.utf8(tail);
  return out.bytes.subarray(0, out.length);
}

/** `promise`, or a failure after `ms`: a retry that sleeps for real would hit it. */
function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`not settled in ${ms} ms`)), ms).unref(),
    ),
  ]);
}

describe("trace export retries", () => {
  it("retries a 503 after a jittered backoff, and the spans arrive once", async () => {
    const receiver = await startOtlpReceiver();
    const clock = steppingClock();
    const sender = new OtlpHttpSender(receiver.endpoint, {}, 10_000, clock);
    try {
      receiver.refuse({ status: 503 });
      assert.equal(await within(sender.send(exportBody())), true);
      assert.deepEqual(receiver.refused, [503]);
      assert.equal(receiver.spans.length, 1);
      assert.equal(clock.waits.length, 1);
      assert.ok(clock.waits[0]! >= 800 && clock.waits[0]! <= 1200, `waited ${clock.waits[0]}`);
      assert.deepEqual(receiver.problems, []);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  it("waits what 429's Retry-After asks", async () => {
    const receiver = await startOtlpReceiver();
    const clock = steppingClock();
    const sender = new OtlpHttpSender(receiver.endpoint, {}, 10_000, clock);
    try {
      receiver.refuse({ status: 429, headers: { "retry-after": "1" } });
      assert.equal(await within(sender.send(exportBody())), true);
      assert.deepEqual(clock.waits, [1000]);
      assert.equal(receiver.spans.length, 1);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  it("does not retry a 400, and gives up on a Retry-After past the budget", async () => {
    const receiver = await startOtlpReceiver();
    const clock = steppingClock();
    const sender = new OtlpHttpSender(receiver.endpoint, {}, 10_000, clock);
    try {
      receiver.refuse({ status: 400 }, { status: 503, headers: { "retry-after": "30" } });
      assert.equal(await within(sender.send(exportBody())), false);
      assert.equal(await within(sender.send(exportBody())), false);
      assert.deepEqual(receiver.refused, [400, 503]);
      assert.deepEqual(clock.waits, []);
      assert.equal(receiver.spans.length, 0);
    } finally {
      await sender.close();
      await receiver.close();
    }
  });

  it("retries a collector that is down five times at most, within the export timeout", async () => {
    // A port that was free a moment ago: connections to it are refused.
    const probe = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => probe.once("listening", resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const endpoint = `http://127.0.0.1:${port}/v1/traces`;

    const patient = steppingClock();
    const sender = new OtlpHttpSender(endpoint, {}, 60_000, patient);
    assert.equal(await within(sender.send(exportBody())), false);
    assert.equal(patient.waits.length, 5);
    // 1 s, then ×1.5 each time, ±20%, never above 5 s.
    patient.waits.forEach((wait, i) => {
      const backoff = Math.min(1000 * 1.5 ** i, 5000);
      assert.ok(
        wait >= backoff * 0.8 && wait <= Math.min(backoff * 1.2, 5000),
        `wait ${i}: ${wait}`,
      );
    });
    await sender.close();

    const hurried = steppingClock();
    const short = new OtlpHttpSender(endpoint, {}, 3000, hurried);
    assert.equal(await within(short.send(exportBody())), false);
    const waited = hurried.waits.reduce((sum, wait) => sum + wait, 0);
    assert.ok(hurried.waits.length >= 1 && hurried.waits.length <= 2, `${hurried.waits}`);
    assert.ok(waited < 3000, `waited ${waited} ms`);
    await short.close();

    // Stopping: the exports still to come share one exportTimeout, however many there are.
    const stopping = steppingClock();
    // Each alone would wait 1 + 1.5 + 2.25 + 3.375 s (±20%): at least 13 s for the two.
    const last = new OtlpHttpSender(endpoint, {}, 10_000, stopping);
    last.stopping();
    assert.equal(await within(last.send(exportBody())), false);
    assert.equal(await within(last.send(exportBody())), false);
    const total = stopping.waits.reduce((sum, wait) => sum + wait, 0);
    assert.ok(total < 10_000, `waited ${total} ms over two exports`);
    await last.close();
  });

  it("counts a failed export and its spans in /metrics", async () => {
    const receiver = await startOtlpReceiver();
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        gateway: { tracing: { enabled: true, endpoint: receiver.endpoint, exportDelay: "10ms" } },
        services: [{ name: "users", targets: [{ url: up.url }] }],
        routes: [{ name: "user", match: { paths: ["/users/:id"] }, service: "users" }],
      }),
    );
    const scrape = async () => (await request(`${gw.statusUrl}/metrics`)).body.text();
    const count = (metrics: string, series: string) =>
      Number(
        new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0,
      );
    try {
      receiver.refuse({ status: 400 });
      await (await request(`${gw.url}/users/1`)).body.text();
      await until(() => receiver.refused.length === 1, "the refused export");
      await until(
        async () =>
          count(await scrape(), 'gatehouse_tracing_exports_total{outcome="failed"}') === 1,
        "the failed export in /metrics",
      );
      const metrics = await scrape();
      // The refused export carried the request's server span and its upstream try's span.
      const dropped = count(
        metrics,
        'gatehouse_tracing_spans_dropped_total{reason="export_failed"}',
      );
      assert.ok(dropped >= 1 && dropped <= 2, `dropped ${dropped}`);
      assert.equal(count(metrics, 'gatehouse_tracing_exports_total{outcome="success"}'), 0);

      await (await request(`${gw.url}/users/2`)).body.text();
      await receiver.waitForSpans(2);
      await until(
        async () =>
          count(await scrape(), 'gatehouse_tracing_exports_total{outcome="success"}') >= 1,
        "a successful export in /metrics",
      );
    } finally {
      await gw.stop();
      await up.close();
      await receiver.close();
    }
  });
});
