// Trace context written and read by the gateway's shortcuts is what OpenTelemetry's own
// propagators write and read, header for header.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultTextMapSetter, ROOT_CONTEXT, type TraceState, trace } from "@opentelemetry/api";
import { TraceState as OtelTraceState, W3CTraceContextPropagator } from "@opentelemetry/core";
import { newSpanId, newTraceId } from "./ids.ts";
import { TracePropagation } from "./propagation.ts";

/** Headers as the gateway sends them upstream: `host` first, then the rest in pairs. */
function upstreamHeaders(): string[] {
  return ["host", "upstream:80", "accept", "*/*", "traceparent", "00-stale", "tracestate", "old=1"];
}

/** The header pairs after `host`, as an object. */
function pairs(headers: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 2; i < headers.length; i += 2) out[headers[i]!] = headers[i + 1]!;
  return out;
}

describe("trace propagation", () => {
  it("writes W3C trace context exactly as OpenTelemetry's propagator does", () => {
    const propagation = new TracePropagation(["tracecontext"]);
    const reference = new W3CTraceContextPropagator();
    const states: (TraceState | undefined)[] = [undefined, new OtelTraceState("a=1,b=2")];
    for (const sampled of [true, false]) {
      for (const traceState of states) {
        const traceId = newTraceId();
        const spanId = newSpanId();
        const ours = upstreamHeaders();
        propagation.inject(ours, traceId, spanId, sampled, traceState);
        const theirs: Record<string, string> = { accept: "*/*", tracestate: "old=1" };
        const context = trace.setSpanContext(ROOT_CONTEXT, {
          traceId,
          spanId,
          traceFlags: sampled ? 1 : 0,
          traceState,
        });
        reference.inject(context, theirs, defaultTextMapSetter);
        assert.deepEqual(pairs(ours), theirs);
        assert.equal(ours[1], "upstream:80");
      }
    }
  });

  it("reads a caller's context, and nothing from a request without trace headers", () => {
    const propagation = new TracePropagation(["tracecontext", "b3"]);
    assert.equal(propagation.extract({ accept: "*/*" }), undefined);
    const w3c = propagation.extract({
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      tracestate: "v=1",
    });
    assert.equal(w3c?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(w3c?.traceState?.serialize(), "v=1");
    const b3 = propagation.extract({ b3: "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1" });
    assert.equal(b3?.spanId, "00f067aa0ba902b7");
    assert.equal(propagation.extract({ traceparent: "00-garbage" }), undefined);
  });

  it("writes B3 through OpenTelemetry's propagator when configured, and reads either encoding", () => {
    const propagation = new TracePropagation(["b3multi"]);
    const single = propagation.extract({
      b3: "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
    });
    assert.equal(single?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    const multi = new TracePropagation(["b3"]).extract({
      "x-b3-traceid": "4bf92f3577b34da6a3ce929d0e0e4736",
      "x-b3-spanid": "00f067aa0ba902b7",
      "x-b3-sampled": "1",
    });
    assert.equal(multi?.spanId, "00f067aa0ba902b7");
    const headers = upstreamHeaders();
    propagation.inject(
      headers,
      "4bf92f3577b34da6a3ce929d0e0e4736",
      "00f067aa0ba902b7",
      true,
      undefined,
    );
    assert.equal(pairs(headers)["x-b3-traceid"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(pairs(headers)["x-b3-spanid"], "00f067aa0ba902b7");
    assert.equal(pairs(headers)["x-b3-sampled"], "1");
  });
});
