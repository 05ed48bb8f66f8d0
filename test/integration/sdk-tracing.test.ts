// The SDK's spans as a collector sees them: two services written with the SDK, in their own
// process, exporting over OTLP/HTTP because OTEL_EXPORTER_OTLP_ENDPOINT says so, received by
// a real OTLP receiver. One trace runs from the caller's traceparent through `orders`'
// server span, its client span for the call to `inventory`, and `inventory`'s server span.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { exited } from "../helpers/child-process.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../helpers/otlp-receiver.ts";
import { type RegistryStub, startRegistryStub } from "../helpers/registry-stub-server.ts";

const SERVER = 2;
const CLIENT = 3;
const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpan = "00f067aa0ba902b7";
const fixture = fileURLToPath(new URL("../fixtures/sdk/traced-services.ts", import.meta.url));

describe("sdk tracing", () => {
  let receiver: OtlpReceiver;
  let stub: RegistryStub;

  before(async () => {
    receiver = await startOtlpReceiver();
    stub = await startRegistryStub();
  });

  after(async () => {
    await receiver.close();
    await stub.close();
  });

  it("exports the server and client spans of a call between services, in one trace", async () => {
    const child = spawn(process.execPath, [fixture], {
      env: {
        ...process.env,
        REGISTRY: stub.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint.replace(/\/v1\/traces$/, ""),
        OTEL_SERVICE_NAME: "",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const [line] = (await once(child.stdout!.setEncoding("utf8"), "data")) as [string];
      const { ordersPort, inventoryPort } = JSON.parse(line);
      const response = await fetch(`http://127.0.0.1:${ordersPort}/orders/1`, {
        headers: { traceparent: `00-${callerTrace}-${callerSpan}-01`, "x-request-id": "t-1" },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { order: 1, stock: { sku: 42, count: 3 } });
      // SIGTERM: both deregister, and the spans are flushed before the process ends.
      child.kill("SIGTERM");
      await exited(child);
      assert.equal(child.signalCode, "SIGTERM");
      assert.deepEqual(stub.instances("orders"), []);
      assert.deepEqual(stub.instances("inventory"), [], "both registrations closed first");

      const spans = await receiver.waitForSpans(3, 5_000);
      const ordersServer = spans.find(
        (s) => s.kind === SERVER && s.attributes["url.path"] === "/orders/1",
      );
      const client = spans.find((s) => s.kind === CLIENT);
      const inventoryServer = spans.find(
        (s) => s.kind === SERVER && s.attributes["url.path"] === "/stock/42",
      );
      assert.ok(
        ordersServer && client && inventoryServer,
        spans.map((s) => `${s.kind} ${s.name} ${s.attributes["url.path"]}`).join("\n"),
      );
      for (const span of [ordersServer, client, inventoryServer]) {
        assert.equal(span.traceId, callerTrace);
        assert.equal(span.resource["service.name"], "orders", "the first registered service");
      }
      assert.equal(ordersServer.parentSpanId, callerSpan);
      assert.equal(ordersServer.attributes["gatehouse.request_id"], "t-1");
      assert.equal(ordersServer.attributes["http.response.status_code"], 200);
      assert.equal(client.parentSpanId, ordersServer.spanId);
      assert.equal(client.name, "GET");
      assert.equal(client.attributes["gatehouse.service"], "inventory");
      assert.equal(client.attributes["server.port"], inventoryPort);
      assert.equal(client.attributes["url.full"], `http://127.0.0.1:${inventoryPort}/stock/42`);
      assert.equal(client.attributes["http.response.status_code"], 200);
      assert.equal(inventoryServer.parentSpanId, client.spanId);
      assert.equal(inventoryServer.attributes["gatehouse.request_id"], "t-1");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited(child);
    }
  });
});
