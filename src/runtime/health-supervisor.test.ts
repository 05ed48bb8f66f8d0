import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { activeCheckSchema, defaultActiveCheck } from "../config/schema/upstream.ts";
import { checkFor } from "./health-supervisor.ts";

describe("the check a target gets", () => {
  const service = activeCheckSchema.parse({
    path: "/health",
    interval: "10s",
    healthyThreshold: 1,
  });

  it("is its service's, at the path and interval the target asks for", () => {
    assert.equal(checkFor(service, undefined), service);
    assert.equal(checkFor(undefined, undefined), undefined, "nothing asks: no probe");
    assert.deepEqual(checkFor(service, { path: "/ready", intervalMs: 2_000 }), {
      ...service,
      path: "/ready",
      interval: 2_000,
    });
    assert.deepEqual(checkFor(service, { path: "/ready" }), { ...service, path: "/ready" });
  });

  it("is the default probe when only the target asks, and ignores a path for tcp and grpc", () => {
    assert.deepEqual(checkFor(undefined, { path: "/ready" }), {
      ...defaultActiveCheck,
      path: "/ready",
    });
    const tcp = activeCheckSchema.parse({ type: "tcp" });
    assert.equal(checkFor(tcp, { path: "/ready", intervalMs: 1_000 }), tcp);
  });
});
