// key-auth and acl over real sockets: a key names a consumer (digest or plain in config), the
// consumer reaches the upstream as headers, the key does not, and anything else is a 401.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type LogFile, type LogLine, tempLogFile } from "../helpers/log-file.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

type Seen = { url: string; headers: Record<string, string> };
const digest = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;

describe("key-auth", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let log: LogFile;
  let plainKeyWarnings: LogLine[] = [];

  before(async () => {
    up = await startUpstream(echo);
    log = await tempLogFile();
    gw = await startGateway(
      testConfig({
        gateway: { log: { level: "warn", destination: log.path } },
        consumers: [
          {
            name: "alice",
            groups: ["admins", "ops"],
            credentials: { keys: [digest("alice-key-123")] },
          },
          { name: "bob", credentials: { keys: ["bob-plain-key"] } },
        ],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "svc",
            plugins: [{ name: "key-auth", config: { query: "apikey" } }],
          },
          {
            name: "admin",
            match: { paths: ["/admin/*"] },
            service: "svc",
            plugins: [
              { name: "key-auth" },
              { name: "acl", config: { allow: ["admins"], deny: ["suspended"] } },
            ],
          },
          {
            name: "acl-alone",
            match: { paths: ["/acl-alone"] },
            service: "svc",
            plugins: [{ name: "acl", config: { allow: ["admins"] } }],
          },
          {
            name: "public",
            match: { paths: ["/public/*"] },
            service: "svc",
            plugins: [{ name: "key-auth", config: { anonymous: "guest" } }],
          },
        ],
      }),
    );
    plainKeyWarnings = (await log.lines()).filter((line) => line.plugin === "key-auth");
  });
  after(async () => {
    await gw.stop();
    await up.close();
    await log.remove();
  });

  const call = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}${path}`, { headers });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: (await res.body.json()) as Seen & { error?: { code: string } },
    };
  };

  it("names the consumer from a hashed key, forwards who it is, never the key", async () => {
    const res = await call("/api/x", { "x-api-key": "alice-key-123" });
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-consumer-name"], "alice");
    assert.equal(res.body.headers["x-consumer-groups"], "admins, ops");
    assert.equal(res.body.headers["x-api-key"], undefined);
  });

  it("accepts a plain-text key from config too, with a warning at load", async () => {
    // Once per place key-auth is configured, naming the consumer and never the key.
    assert.ok(plainKeyWarnings.length > 0);
    for (const line of plainKeyWarnings) {
      assert.equal(line.level, "warn");
      assert.match(line.msg, /API keys written in plain text/);
      assert.deepEqual(line.consumers, ["bob"]);
      assert.doesNotMatch(JSON.stringify(line), /bob-plain-key/);
    }
    const res = await call("/api/x", { "x-api-key": "bob-plain-key" });
    assert.equal(res.body.headers["x-consumer-name"], "bob");
  });

  it("takes the key from the query argument and strips it from the forwarded query", async () => {
    const res = await call("/api/x?apikey=alice-key-123&page=2");
    assert.equal(res.status, 200);
    assert.equal(res.body.url, "/api/x?page=2");
  });

  it("answers 401 with WWW-Authenticate for a missing or wrong key, and the upstream sees nothing", async () => {
    const before = up.requests.length;
    for (const headers of [{}, { "x-api-key": "wrong-key-000" }] as Record<string, string>[]) {
      const res = await call("/api/x", headers);
      assert.equal(res.status, 401);
      assert.equal(res.body.error!.code, "GATEHOUSE_UNAUTHORIZED");
      assert.equal(res.headers["www-authenticate"], 'ApiKey header="x-api-key"');
    }
    assert.equal(up.requests.length, before);
  });

  it("acl: lets allowed groups through and refuses the rest with 403", async () => {
    assert.equal((await call("/admin/x", { "x-api-key": "alice-key-123" })).status, 200);
    const bob = await call("/admin/x", { "x-api-key": "bob-plain-key" });
    assert.equal(bob.status, 403);
    assert.equal(bob.body.error!.code, "GATEHOUSE_FORBIDDEN");
    const nobody = await call("/acl-alone");
    assert.equal(nobody.status, 401, "no authentication plugin named a consumer");
  });

  it("lets an anonymous consumer through when configured, and still checks a key that is sent", async () => {
    const anon = await call("/public/x");
    assert.equal(anon.status, 200);
    assert.equal(anon.body.headers["x-anonymous-consumer"], "true");
    const wrong = await call("/public/x", { "x-api-key": "wrong-key-000" });
    assert.equal(wrong.status, 401);
  });
});
