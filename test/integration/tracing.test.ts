// Tracing as a collector and an upstream see it: spans decoded by a real OTLP/HTTP
// receiver, their parent/child links, their attributes, and the trace headers the
// upstream received.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import type { GatehouseConfigInput } from "../../src/config/schema/index.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { h2Request } from "../helpers/h2-client.ts";
import { decodeThroughProtobuf, otlpJsonProblems } from "../helpers/otlp-proto.ts";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from "../helpers/otlp-receiver.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpan = "00f067aa0ba902b7";

type Tracing = NonNullable<GatehouseConfigInput["gateway"]["tracing"]>;

async function tracedGateway(
  receiver: OtlpReceiver,
  upstreams: Upstream[],
  tracing: Partial<Tracing> = {},
  extra: Partial<GatehouseConfigInput["gateway"]> = {},
  service: Record<string, unknown> = {},
) {
  return startGateway(
    testConfig({
      gateway: {
        tracing: { enabled: true, endpoint: receiver.endpoint, exportDelay: "10ms", ...tracing },
        ...extra,
      },
      services: [{ name: "users", targets: upstreams.map((up) => ({ url: up.url })), ...service }],
      routes: [{ name: "user", match: { paths: ["/users/:id"] }, service: "users" }],
    }),
  );
}

interface TracedSetup {
  tracing?: Partial<Tracing>;
  gateway?: Partial<GatehouseConfigInput["gateway"]>;
  service?: Record<string, unknown>;
  upstream?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** A receiver, an upstream and a traced gateway in front of it, for the time of `body`. */
async function withTracedGateway(
  setup: TracedSetup,
  body: (running: { gw: RunningGateway; up: Upstream; receiver: OtlpReceiver }) => Promise<void>,
): Promise<void> {
  const receiver = await startOtlpReceiver();
  const up = await startUpstream(setup.upstream ?? ((_req, res) => res.end("ok")));
  const gw = await tracedGateway(receiver, [up], setup.tracing, setup.gateway, setup.service);
  try {
    await body({ gw, up, receiver });
  } finally {
    await gw.stop();
    await up.close();
    await receiver.close();
  }
  // Everything exported, to the last span sent at stop, is what the OTLP definitions describe.
  assert.deepEqual(receiver.problems, []);
}

function traceparentOf(up: Upstream, index = 0): string {
  return String(up.requests[index]!.headers.traceparent);
}

function byKind(spans: ReceivedSpan[], kind: number): ReceivedSpan[] {
  return spans.filter((span) => span.kind === kind);
}

describe("tracing", () => {
  it("continues the caller's trace: server span under the caller, client span under it, upstream under the client span", async () => {
    await withTracedGateway(
      {
        tracing: {
          serviceName: "edge-1",
          resourceAttributes: { "deployment.environment.name": "test" },
        },
      },
      async ({ gw, up, receiver }) => {
        const res = await request(`${gw.url}/users/42?token=secret-in-query`, {
          headers: {
            traceparent: `00-${callerTrace}-${callerSpan}-01`,
            tracestate: "vendor=abc",
            "user-agent": "tracing-test/1",
            "x-request-id": "req-trace-1",
          },
        });
        assert.equal(await res.body.text(), "ok");
        const spans = await receiver.waitForSpans(2);
        assert.equal(spans.length, 2);
        const [server] = byKind(spans, SERVER);
        const [client] = byKind(spans, CLIENT);
        assert.ok(server && client);

        assert.equal(server.traceId, callerTrace);
        assert.equal(server.parentSpanId, callerSpan);
        assert.equal(server.name, "GET /users/:id");
        assert.equal(client.traceId, callerTrace);
        assert.equal(client.parentSpanId, server.spanId);
        // A trace's spans share one clock: the client span lies within the server span.
        assert.ok(server.startNanos <= client.startNanos && client.endNanos <= server.endNanos);

        // The upstream sees the client span as its parent, sampled, with the caller's state.
        assert.equal(traceparentOf(up), `00-${callerTrace}-${client.spanId}-01`);
        assert.equal(up.requests[0]!.headers.tracestate, "vendor=abc");

        assert.deepEqual(
          {
            method: server.attributes["http.request.method"],
            path: server.attributes["url.path"],
            route: server.attributes["http.route"],
            status: server.attributes["http.response.status_code"],
            agent: server.attributes["user_agent.original"],
            client: server.attributes["client.address"],
            gatehouseRoute: server.attributes["gatehouse.route"],
            service: server.attributes["gatehouse.service"],
            requestId: server.attributes["gatehouse.request_id"],
          },
          {
            method: "GET",
            path: "/users/42",
            route: "/users/:id",
            status: 200,
            agent: "tracing-test/1",
            client: "127.0.0.1",
            gatehouseRoute: "user",
            service: "users",
            requestId: "req-trace-1",
          },
        );
        assert.deepEqual(
          {
            method: client.attributes["http.request.method"],
            address: client.attributes["server.address"],
            port: client.attributes["server.port"],
            url: client.attributes["url.full"],
            status: client.attributes["http.response.status_code"],
          },
          {
            method: "GET",
            address: "127.0.0.1",
            port: up.port,
            url: `${up.url}/users/42`,
            status: 200,
          },
        );
        // The query (where credentials may travel) is in no attribute.
        assert.ok(
          !JSON.stringify(spans.map((span) => span.attributes)).includes("secret-in-query"),
        );
        assert.equal(server.resource["service.name"], "edge-1");
        assert.equal(server.resource["deployment.environment.name"], "test");
        assert.equal(typeof server.resource["service.version"], "string");
        assert.equal(server.statusCode, 0);
      },
    );
  });

  it("starts a new sampled trace when the caller sent none, and writes its id in the access log", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "gatehouse-trace-")), "access.log");
    await withTracedGateway(
      { gateway: { accessLog: { enabled: true, destination: file } } },
      async ({ gw, up, receiver }) => {
        await (await request(`${gw.url}/users/7`)).body.text();
        const spans = await receiver.waitForSpans(2);
        const [server] = byKind(spans, SERVER);
        const [client] = byKind(spans, CLIENT);
        assert.ok(server && client);
        assert.equal(server.parentSpanId, "");
        assert.match(server.traceId, /^[0-9a-f]{32}$/);
        assert.equal(traceparentOf(up), `00-${server.traceId}-${client.spanId}-01`);
        await gw.stop();
        const line = JSON.parse(readFileSync(file, "utf8").trim()) as { traceId: string };
        assert.equal(line.traceId, server.traceId);
      },
    );
  });

  it("samples new traces by ratio but follows a caller's decision", async () => {
    await withTracedGateway({ tracing: { sampleRatio: 0 } }, async ({ gw, up, receiver }) => {
      // No caller context, ratio 0: nothing recorded, but the upstream still gets a
      // (not sampled) context so its own spans can correlate.
      await (await request(`${gw.url}/users/1`)).body.text();
      assert.match(traceparentOf(up, 0), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      // A sampled caller: recorded whatever the ratio.
      await (
        await request(`${gw.url}/users/2`, {
          headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` },
        })
      ).body.text();
      // A caller that decided not to sample: not recorded, and passed on unsampled.
      const unsampledTrace = "0af7651916cd43dd8448eb211c80319c";
      await (
        await request(`${gw.url}/users/3`, {
          headers: { traceparent: `00-${unsampledTrace}-b7ad6b7169203331-00` },
        })
      ).body.text();
      assert.match(traceparentOf(up, 2), new RegExp(`^00-${unsampledTrace}-[0-9a-f]{16}-00$`));
      await gw.stop();
      assert.equal(receiver.spans.length, 2);
      assert.ok(receiver.spans.every((span) => span.traceId === callerTrace));
    });
  });

  it("gives each upstream try its own client span, marking the failed one", async () => {
    let calls = 0;
    await withTracedGateway(
      {
        service: { retries: { attempts: 1, on: [503], backoff: { base: "1ms", max: "1ms" } } },
        upstream: (_req, res) => {
          if (calls++ === 0) res.writeHead(503).end("busy");
          else res.end("ok");
        },
      },
      async ({ gw, up, receiver }) => {
        const res = await request(`${gw.url}/users/1`);
        assert.equal(res.statusCode, 200);
        await res.body.text();
        await gw.stop();
        const [server] = byKind(receiver.spans, SERVER);
        const clients = byKind(receiver.spans, CLIENT);
        assert.ok(server);
        assert.equal(clients.length, 2);
        const [failed, retried] = clients.sort((a, b) => Number(a.startNanos - b.startNanos));
        assert.ok(failed && retried);
        assert.equal(failed.attributes["http.response.status_code"], 503);
        assert.equal(failed.attributes["error.type"], "503");
        assert.equal(failed.statusCode, ERROR);
        assert.equal(failed.attributes["http.request.resend_count"], undefined);
        assert.equal(retried.attributes["http.response.status_code"], 200);
        assert.equal(retried.attributes["http.request.resend_count"], 1);
        assert.equal(retried.statusCode, 0);
        assert.equal(failed.parentSpanId, server.spanId);
        assert.equal(retried.parentSpanId, server.spanId);
        assert.equal(server.attributes["http.response.status_code"], 200);
        // Each try told the upstream its own span.
        assert.equal(traceparentOf(up, 0).split("-")[2], failed.spanId);
        assert.equal(traceparentOf(up, 1).split("-")[2], retried.spanId);
      },
    );
  });

  it("marks the spans of a request the upstream could not serve as errors", async () => {
    await withTracedGateway({}, async ({ gw, up, receiver }) => {
      await up.close();
      const res = await request(`${gw.url}/users/1`);
      assert.equal(res.statusCode, 502);
      await res.body.text();
      await gw.stop();
      const [server] = byKind(receiver.spans, SERVER);
      const [client] = byKind(receiver.spans, CLIENT);
      assert.ok(server && client);
      assert.equal(server.statusCode, ERROR);
      assert.equal(server.attributes["http.response.status_code"], 502);
      assert.equal(server.attributes["error.type"], "GATEHOUSE_UPSTREAM_CONNECT_FAILED");
      assert.equal(server.attributes["gatehouse.error_code"], "GATEHOUSE_UPSTREAM_CONNECT_FAILED");
      assert.equal(client.statusCode, ERROR);
      assert.equal(client.attributes["error.type"], "GATEHOUSE_UPSTREAM_CONNECT_FAILED");
    });
  });

  it("reads and writes B3 when configured", async () => {
    await withTracedGateway(
      { tracing: { propagation: ["b3multi"] } },
      async ({ gw, up, receiver }) => {
        await (
          await request(`${gw.url}/users/5`, {
            headers: { b3: `${callerTrace}-${callerSpan}-1` },
          })
        ).body.text();
        const spans = await receiver.waitForSpans(2);
        const [server] = byKind(spans, SERVER);
        const [client] = byKind(spans, CLIENT);
        assert.ok(server && client);
        assert.equal(server.traceId, callerTrace);
        assert.equal(server.parentSpanId, callerSpan);
        const headers = up.requests[0]!.headers;
        assert.equal(headers["x-b3-traceid"], callerTrace);
        assert.equal(headers["x-b3-spanid"], client.spanId);
        assert.equal(headers["x-b3-sampled"], "1");
        assert.equal(headers.traceparent, undefined);
      },
    );
  });

  it("prefers the W3C context when a caller sends both W3C and B3", async () => {
    await withTracedGateway(
      { tracing: { propagation: ["tracecontext", "b3"] } },
      async ({ gw, up, receiver }) => {
        const b3Trace = "80f198ee56343ba864fe8b2a57d3eff7";
        await (
          await request(`${gw.url}/users/5`, {
            headers: {
              b3: `${b3Trace}-e457b5a2e4d86bd1-1`,
              traceparent: `00-${callerTrace}-${callerSpan}-01`,
            },
          })
        ).body.text();
        const spans = await receiver.waitForSpans(2);
        const [server] = byKind(spans, SERVER);
        const [client] = byKind(spans, CLIENT);
        assert.ok(server && client);
        assert.equal(server.traceId, callerTrace);
        assert.equal(server.parentSpanId, callerSpan);
        // Both formats go upstream, naming the same try.
        const headers = up.requests[0]!.headers;
        assert.equal(headers.traceparent, `00-${callerTrace}-${client.spanId}-01`);
        assert.equal(headers.b3, `${callerTrace}-${client.spanId}-1`);
      },
    );
  });

  it("sends the configured headers with every export", async () => {
    await withTracedGateway(
      { tracing: { headers: { "x-collector-key": "k-123" } } },
      async ({ gw, receiver }) => {
        await (await request(`${gw.url}/users/1`)).body.text();
        await receiver.waitForSpans(2);
        assert.equal(receiver.exports[0]!.headers["x-collector-key"], "k-123");
        assert.match(receiver.exports[0]!.contentType, /application\/json/);
      },
    );
  });

  it("keeps serving when the collector is down", async () => {
    const receiver = await startOtlpReceiver();
    const endpoint = receiver.endpoint;
    await receiver.close();
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        gateway: {
          tracing: { enabled: true, endpoint, exportDelay: "10ms", exportTimeout: "200ms" },
        },
        services: [{ name: "users", targets: [{ url: up.url }] }],
        routes: [{ name: "user", match: { paths: ["/users/:id"] }, service: "users" }],
      }),
    );
    try {
      for (let i = 0; i < 20; i++) {
        const res = await request(`${gw.url}/users/${i}`);
        assert.equal(res.statusCode, 200);
        await res.body.text();
      }
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("passes the caller's trace headers through untouched when tracing is off", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        services: [{ name: "users", targets: [{ url: up.url }] }],
        routes: [{ name: "user", match: { paths: ["/users/:id"] }, service: "users" }],
      }),
    );
    try {
      const traceparent = `00-${callerTrace}-${callerSpan}-01`;
      await (await request(`${gw.url}/users/1`, { headers: { traceparent } })).body.text();
      assert.equal(traceparentOf(up), traceparent);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("exports what the OTLP definitions describe, decoded field by field from the protobuf encoding", async () => {
    await withTracedGateway(
      {
        tracing: {
          serviceName: "edge-2",
          resourceAttributes: { "deployment.environment.name": "qa" },
        },
        upstream: (_req, res) => res.writeHead(500).end("broken"),
      },
      async ({ gw, up, receiver }) => {
        const before = BigInt(Date.now()) * 1_000_000n;
        const res = await request(`${gw.url}/users/9?q=1`, {
          headers: {
            traceparent: `00-${callerTrace}-${callerSpan}-01`,
            tracestate: "vendor=abc",
            "user-agent": "otlp-test/1",
            "x-request-id": "req-otlp-1",
          },
        });
        assert.equal(res.statusCode, 500);
        await res.body.text();
        await receiver.waitForSpans(2);
        const after = BigInt(Date.now() + 1) * 1_000_000n;
        const spans = receiver.bodies.flatMap(decodeThroughProtobuf);
        assert.equal(spans.length, 2);
        const server = spans.find((span) => span.kind === SERVER)!;
        const client = spans.find((span) => span.kind === CLIENT)!;
        const common = {
          traceId: callerTrace,
          traceState: "vendor=abc",
          flags: 1,
          resource: {
            "service.name": "edge-2",
            "service.version": server.resource["service.version"],
            "deployment.environment.name": "qa",
          },
          scope: { name: "gatehouse", version: server.resource["service.version"] },
        };
        assert.match(String(server.resource["service.version"]), /^\d+\.\d+\.\d+/);
        const {
          startTimeUnixNano: s1,
          endTimeUnixNano: e1,
          spanId: serverId,
          ...serverRest
        } = server;
        assert.match(serverId, /^[0-9a-f]{16}$/);
        assert.deepEqual(serverRest, {
          ...common,
          parentSpanId: callerSpan,
          name: "GET /users/:id",
          kind: SERVER,
          statusCode: ERROR,
          attributes: {
            "http.request.method": "GET",
            "url.path": "/users/9",
            "url.scheme": "http",
            "server.address": "127.0.0.1",
            "server.port": Number(new URL(gw.url).port),
            "client.address": "127.0.0.1",
            "network.protocol.version": "1.1",
            "gatehouse.request_id": "req-otlp-1",
            "user_agent.original": "otlp-test/1",
            "http.route": "/users/:id",
            "gatehouse.route": "user",
            "gatehouse.service": "users",
            "http.response.status_code": 500,
            "error.type": "500",
          },
        });
        const {
          startTimeUnixNano: s2,
          endTimeUnixNano: e2,
          spanId: clientId,
          ...clientRest
        } = client;
        assert.equal(traceparentOf(up), `00-${callerTrace}-${clientId}-01`);
        assert.deepEqual(clientRest, {
          ...common,
          parentSpanId: serverId,
          name: "GET",
          kind: CLIENT,
          statusCode: ERROR,
          attributes: {
            "http.request.method": "GET",
            "server.address": "127.0.0.1",
            "server.port": up.port,
            "url.full": `${up.url}/users/9`,
            "http.response.status_code": 500,
            "error.type": "500",
          },
        });
        assert.ok(before <= s1 && s1 <= s2 && s2 <= e2 && e2 <= e1 && e1 <= after);
      },
    );
  });

  it("finds what a collector would refuse in an export request", () => {
    const span = {
      traceId: callerTrace,
      spanId: callerSpan,
      name: "GET",
      kind: "SPAN_KIND_SERVER",
      startTimeUnixNano: "1",
      endTimeUnixNano: 2.5,
      attributes: [{ key: "a", value: { stringValue: "x", intValue: "1" } }],
      statusCode: 2,
    };
    const problems = otlpJsonProblems({
      resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, parentSpanId: "abc" }] }] }],
    });
    assert.deepEqual(
      problems.map((problem) => problem.replace(/^.*\.spans\[0\]/, "span")),
      [
        'span.kind: expected a number of enum SpanKind, got "SPAN_KIND_SERVER"',
        "span.endTimeUnixNano: expected a 64-bit integer (decimal string), got 2.5",
        "span.attributes[0].value: 2 members of oneof value set",
        "span.statusCode: no such field in Span",
        'span.parentSpanId: expected lowercase hex of 0 or 8 bytes, got "abc"',
      ],
    );
  });

  it("names an HTTP/2 request's protocol version 2, as the conventions write it", async () => {
    await withTracedGateway(
      { gateway: { listen: [{ host: "127.0.0.1", port: 0, http2: true }] } },
      async ({ gw, receiver }) => {
        const session = connect(gw.url);
        try {
          const answer = await h2Request(session, { ":path": "/users/7" });
          assert.equal(answer.status, 200);
        } finally {
          session.close();
        }
        const [server] = byKind(await receiver.waitForSpans(2), SERVER);
        assert.equal(server!.attributes["network.protocol.version"], "2");
      },
    );
  });
});
