// What a shop-like gateway needs from jwt and grpc-transcode, through the whole gateway: a
// gRPC service found in the registry (gRPC health checks), tokens checked against a JWKS
// with no consumers, the token's user_id passed as `x-user-id` metadata (overwriting one
// the client sent, and never passing a client's on a route without a token), request
// headers (idempotency-key, traceparent) passed on as metadata, and a 201 by `statuses`.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { request } from "undici";
import { bundledProtoDir } from "../../src/grpc/proto-loader.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type JwksServer, startJwksServer } from "../helpers/jwks-server.ts";
import { signToken } from "../helpers/tokens.ts";
import { until } from "../helpers/until.ts";

const proto = `syntax = "proto3";
package who.v1;
import "google/api/annotations.proto";
service Who {
  rpc Whoami(WhoRequest) returns (WhoReply) {
    option (google.api.http) = { post: "/v1/whoami" body: "*" };
  }
  rpc Peek(WhoRequest) returns (WhoReply) {
    option (google.api.http) = { get: "/v1/peek" };
  }
}
message WhoRequest { string note = 1; }
message WhoReply {
  string user_id = 1;
  string idempotency_key = 2;
  string traceparent = 3;
  int32 user_id_count = 4;
}
`;

const healthProto = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse { enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; } ServingStatus status = 1; }
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;

/** Answers with the metadata the call came with. */
async function startWhoServer(dir: string): Promise<{ port: number; stop(): void }> {
  const definition = loadSync([join(dir, "who.proto"), join(dir, "health.proto")], {
    includeDirs: [dir, bundledProtoDir],
    keepCase: true,
  });
  // biome-ignore lint/suspicious/noExplicitAny: packages loaded at run time have no static type
  const loaded = grpc.loadPackageDefinition(definition) as any;
  const server = new grpc.Server();
  const reply = (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) =>
    done(null, {
      user_id: String(call.metadata.get("x-user-id")[0] ?? ""),
      idempotency_key: String(call.metadata.get("idempotency-key")[0] ?? ""),
      traceparent: String(call.metadata.get("traceparent")[0] ?? ""),
      user_id_count: call.metadata.get("x-user-id").length,
    });
  server.addService(loaded.who.v1.Who.service, { Whoami: reply, Peek: reply });
  server.addService(loaded.grpc.health.v1.Health.service, {
    Check: (_call: unknown, done: grpc.sendUnaryData<unknown>) => done(null, { status: 1 }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { port, stop: () => server.forceShutdown() };
}

describe("jwt and grpc-transcode for services that take the user from the token", () => {
  let dir: string;
  let jwks: JwksServer;
  let who: { port: number; stop(): void };
  let gateway: RunningGateway;
  let adminUrl: string;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const token = (userId: string) =>
    signToken(
      privateKey,
      "RS256",
      { user_id: userId, sub: userId, iss: "shop-users" },
      { kid: "k1" },
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-who-"));
    await writeFile(join(dir, "who.proto"), proto);
    await writeFile(join(dir, "health.proto"), healthProto);
    who = await startWhoServer(dir);
    jwks = await startJwksServer([
      { ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" },
    ]);
    const transcode = {
      name: "grpc-transcode",
      config: {
        protos: [join(dir, "who.proto")],
        includeDirs: [dir],
        useProtoFieldNames: true,
        statuses: { "who.v1.Who/Whoami": 201 },
      },
    };
    gateway = await startGateway(
      testConfig({
        gateway: { admin: { host: "127.0.0.1", port: 0 }, registry: {} },
        services: [
          {
            name: "who",
            protocol: "grpc",
            discovery: { registry: { service: "who" } },
            healthCheck: { active: { type: "grpc", interval: "100ms", healthyThreshold: 1 } },
            retries: { attempts: 2, on: ["unavailable", "connect-failure"] },
          },
        ],
        routes: [
          {
            name: "private",
            match: { paths: ["/v1/whoami"], methods: ["POST"] },
            service: "who",
            plugins: [
              transcode,
              {
                name: "jwt",
                config: {
                  jwksUri: jwks.jwksUri,
                  algorithms: ["RS256"],
                  issuer: "shop-users",
                  claimsToHeaders: { user_id: "x-user-id" },
                },
              },
            ],
          },
          {
            name: "public",
            match: { paths: ["/v1/peek"], methods: ["GET"] },
            service: "who",
            plugins: [transcode],
          },
        ],
      }),
    );
    adminUrl = `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`;
    const registered = await request(`${adminUrl}/registry/services/who/instances/who-1`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ address: "127.0.0.1", port: who.port, protocol: "grpc", ttl: "30s" }),
    });
    assert.ok(registered.statusCode < 300, await registered.body.text());
    // Routable once the gRPC health check has passed.
    await until(async () => {
      const answer = await request(`${gateway.url}/v1/peek`);
      await answer.body.dump();
      return answer.statusCode === 200;
    }, "the registered instance to serve");
  });

  after(async () => {
    await gateway?.stop();
    who?.stop();
    await jwks?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers 201 with the token's user id, replacing the one the client sent, and passes request headers as metadata", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const answer = await request(`${gateway.url}/v1/whoami`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await token("u-alice")}`,
        "content-type": "application/json",
        "x-user-id": "u-mallory",
        "idempotency-key": "k-123",
        traceparent,
      },
      body: "{}",
    });
    const body = (await answer.body.json()) as Record<string, unknown>;
    assert.equal(answer.statusCode, 201, JSON.stringify(body));
    assert.equal(body.user_id, "u-alice");
    assert.equal(body.user_id_count, 1);
    assert.equal(body.idempotency_key, "k-123");
    assert.equal(body.traceparent, traceparent);
  });

  it("refuses a request without a token with a JSON 401", async () => {
    const answer = await request(`${gateway.url}/v1/whoami`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-user-id": "u-mallory" },
      body: "{}",
    });
    assert.equal(answer.statusCode, 401);
    const body = (await answer.body.json()) as { error: { code: string } };
    assert.equal(body.error.code, "GATEHOUSE_UNAUTHORIZED");
  });

  it("does not pass a client's x-user-id on a route without a token", async () => {
    const answer = await request(`${gateway.url}/v1/peek`, {
      headers: { "x-user-id": "u-mallory" },
    });
    const body = (await answer.body.json()) as Record<string, unknown>;
    assert.equal(answer.statusCode, 200, JSON.stringify(body));
    assert.equal(body.user_id ?? "", "");
  });
});
