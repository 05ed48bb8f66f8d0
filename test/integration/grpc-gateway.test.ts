// gRPC clients through the whole gateway: an h2c listener, a route to a `protocol: grpc`
// service, the route's plugins judging the call, and every answer a gRPC status, errors
// the gateway makes included. A grpc-js client on one side, a grpc-js server on the other.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import {
  echoMethods,
  type GrpcEchoServer,
  startGrpcEchoServer,
} from "../helpers/grpc-echo-server.ts";
import { tempLogFile } from "../helpers/log-file.ts";
import { until } from "../helpers/until.ts";

const raw = (b: Buffer) => b;

/** One unary call: the reply, or the status it failed with. */
function unary(client: grpc.Client, path: string, body: Buffer, metadata = new grpc.Metadata()) {
  return new Promise<{ code: number; reply?: string; details?: string }>((resolve) => {
    client.makeUnaryRequest(
      path,
      raw,
      raw,
      body,
      metadata,
      { deadline: Date.now() + 5000 },
      (error, reply) =>
        resolve(
          error
            ? { code: error.code, details: error.details }
            : { code: 0, reply: reply?.toString() },
        ),
    );
  });
}

describe("gRPC through the gateway", () => {
  let echo: GrpcEchoServer;
  let gw: RunningGateway;
  let client: grpc.Client;
  const accessLog = tempLogFile();

  before(async () => {
    echo = await startGrpcEchoServer();
    gw = await startGateway(
      testConfig({
        gateway: {
          listen: [{ host: "127.0.0.1", port: 0, http2: true }],
          accessLog: {
            enabled: true,
            destination: (await accessLog).path,
            fields: ["route", "status", "grpcStatus"],
          },
        },
        services: [
          { name: "echo", protocol: "grpc", targets: [{ url: echo.url }] },
          { name: "gone", protocol: "grpc", targets: [{ url: "http://127.0.0.1:1" }] },
          { name: "plain", targets: [{ url: "http://127.0.0.1:1" }] },
        ],
        consumers: [{ name: "app", credentials: { keys: ["grpc-key-123456"] } }],
        routes: [
          {
            name: "echo",
            match: { paths: ["/test.v1.Echo/Unary", "/test.v1.Echo/ServerStream"] },
            service: "echo",
          },
          {
            name: "keyed",
            match: { paths: ["/test.v1.Echo/Bidi", "/test.v1.Echo/ClientStream"] },
            service: "echo",
            plugins: [{ name: "key-auth" }],
          },
          { name: "gone", match: { paths: ["/gone.v1.Gone/*"] }, service: "gone" },
          { name: "plain", match: { paths: ["/plain.v1.Plain/*"] }, service: "plain" },
        ],
      }),
    );
    client = new grpc.Client(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await gw?.stop();
    echo?.kill();
    await (await accessLog).remove();
  });

  it("proxies a unary call and a server stream", async () => {
    assert.deepEqual(await unary(client, echoMethods.Unary.path, Buffer.from("hello")), {
      code: 0,
      reply: "hello",
    });
    const messages = await new Promise<number>((resolve, reject) => {
      let count = 0;
      const call = client.makeServerStreamRequest(
        echoMethods.ServerStream.path,
        raw,
        raw,
        Buffer.from(JSON.stringify({ count: 5, size: 10 })),
      );
      call.on("data", () => count++);
      call.on("status", (status: grpc.StatusObject) =>
        status.code === 0 ? resolve(count) : reject(new Error(status.details)),
      );
      call.on("error", reject);
    });
    assert.equal(messages, 5);
  });

  it("answers the route's plugins in gRPC: no key is UNAUTHENTICATED, a key gets through", async () => {
    const call = (metadata: grpc.Metadata) =>
      new Promise<{ code: number }>((resolve) => {
        const stream = client.makeClientStreamRequest(
          echoMethods.ClientStream.path,
          raw,
          raw,
          metadata,
          (error) => resolve({ code: error ? error.code : 0 }),
        );
        stream.write(Buffer.from("a"));
        stream.end();
      });
    assert.deepEqual(await call(new grpc.Metadata()), { code: grpc.status.UNAUTHENTICATED });
    const keyed = new grpc.Metadata();
    keyed.set("x-api-key", "grpc-key-123456");
    assert.deepEqual(await call(keyed), { code: 0 });
  });

  it("answers the gateway's own errors as gRPC statuses", async () => {
    const unknown = await unary(client, "/nothing.v1.Here/Call", Buffer.from("x"));
    assert.equal(unknown.code, grpc.status.UNIMPLEMENTED, "no route");
    const gone = await unary(client, "/gone.v1.Gone/Call", Buffer.from("x"));
    assert.equal(gone.code, grpc.status.UNAVAILABLE, "a target that refuses connections");
    const plain = await unary(client, "/plain.v1.Plain/Call", Buffer.from("x"));
    assert.equal(plain.code, grpc.status.UNIMPLEMENTED, "a service that does not speak gRPC");
    assert.match(plain.details ?? "", /service plain does not speak gRPC/);
  });

  it("counts each call's gRPC status in /metrics and writes it in the access log", async () => {
    await unary(client, echoMethods.Unary.path, Buffer.from("counted"));
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    assert.match(
      metrics,
      /gatehouse_grpc_calls_total\{route="echo",service="echo",grpc_status="OK"\} [1-9]/,
    );
    assert.match(
      metrics,
      /gatehouse_grpc_calls_total\{route="keyed",service="echo",grpc_status="UNAUTHENTICATED"\} [1-9]/,
    );
    const echoLines = async () =>
      (await (await accessLog).lines()).filter((line) => line.route === "echo");
    await until(async () => (await echoLines()).length > 0, "the access log's lines", 3000);
    assert.deepEqual((await echoLines())[0], { route: "echo", status: 200, grpcStatus: 0 });
  });

  it("refuses an HTTP/1.1 request to a gRPC service with 415 JSON", async () => {
    const res = await request(`${gw.url}/test.v1.Echo/Unary`, { method: "POST", body: "{}" });
    assert.equal(res.statusCode, 415);
    assert.equal(
      ((await res.body.json()) as { error: { code: string } }).error.code,
      "GATEHOUSE_UNSUPPORTED_MEDIA_TYPE",
    );
  });
});

describe("docs/grpc.md", () => {
  it("its example answers a call without a key UNAUTHENTICATED, and an unknown method UNIMPLEMENTED", async () => {
    const doc = await readFile(new URL("../../docs/grpc.md", import.meta.url), "utf8");
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const echo = await startGrpcEchoServer();
    const gw = await startGateway(
      example
        .replace("port: 8080", "port: 0")
        .replace("http://127.0.0.1:50051", echo.url)
        .replace(
          "gateway:\n",
          "gateway:\n  accessLog: { enabled: false }\n  log: { level: silent }\n",
        ),
    );
    const client = new grpc.Client(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure());
    try {
      const call = await unary(client, echoMethods.Unary.path, Buffer.from("x"));
      assert.equal(call.code, grpc.status.UNAUTHENTICATED);
      const unknown = await unary(client, "/test.v1.Other/Call", Buffer.from("x"));
      assert.equal(unknown.code, grpc.status.UNIMPLEMENTED);
    } finally {
      client.close();
      await gw.stop();
      echo.kill();
    }
  });
});
