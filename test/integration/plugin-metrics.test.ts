// Plugin and health-check metrics on GET /metrics: exact rate-limit and concurrency-limit
// decisions per route (a global plugin counts per route), Redis store failures by fallback
// with redis-server killed, authentication failures by plugin and reason, and active
// health probes by target, type and result against an up, a refusing and a hung target.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";
import { epochSeconds, signToken } from "../helpers/tokens.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const digest = (key: string) => `sha256:${createHash("sha256").update(key).digest("hex")}`;
const secret = "s".repeat(32);

async function scrape(gw: RunningGateway): Promise<string> {
  const res = await request(`${gw.statusUrl}/metrics`);
  return res.body.text();
}

/** The sample lines of one metric (histograms: the named series), sorted. */
function samples(text: string, name: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .sort();
}

/** The value of the one sample line that starts with `prefix` (labels included). */
function value(text: string, prefix: string): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(prefix));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  await res.body.dump();
  return res;
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("plugin metrics", () => {
  let up: Upstream;
  /** Requests to /slow wait here until the test lets them go. */
  const held: (() => void)[] = [];

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === "/slow") held.push(() => res.end("late"));
      else res.end("ok");
    });
  });
  after(() => up?.close());

  it("counts limit decisions per route, a global rate-limit per route", async () => {
    const gw = await startGateway(
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        plugins: [{ name: "rate-limit", config: { limit: 5, window: "1m", by: "route" } }],
        routes: [
          { name: "a", match: { paths: ["/a"] }, service: "svc" },
          { name: "b", match: { paths: ["/b"] }, service: "svc" },
          {
            name: "slow",
            match: { paths: ["/slow"] },
            service: "svc",
            plugins: [{ name: "concurrency-limit", config: { limit: 1, by: "route" } }],
          },
        ],
      }),
    );
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await get(`${gw.url}/a`)).statusCode);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      for (let i = 0; i < 3; i++) assert.equal((await get(`${gw.url}/b`)).statusCode, 200);
      const first = get(`${gw.url}/slow`);
      await until("the first slow request upstream", async () => held.length === 1);
      assert.equal((await get(`${gw.url}/slow`)).statusCode, 429);
      held.shift()!();
      assert.equal((await first).statusCode, 200);

      const text = await scrape(gw);
      const name = "gatehouse_rate_limit_decisions_total";
      assert.deepEqual(samples(text, name), [
        `${name}{route="a",plugin="rate-limit",decision="allowed"} 5`,
        `${name}{route="a",plugin="rate-limit",decision="rejected"} 2`,
        `${name}{route="b",plugin="rate-limit",decision="allowed"} 3`,
        `${name}{route="b",plugin="rate-limit",decision="rejected"} 0`,
        `${name}{route="slow",plugin="concurrency-limit",decision="allowed"} 1`,
        `${name}{route="slow",plugin="concurrency-limit",decision="rejected"} 1`,
        // concurrency-limit (priority 910) runs before rate-limit (900): the refused /slow
        // never reached the rate limit.
        `${name}{route="slow",plugin="rate-limit",decision="allowed"} 1`,
        `${name}{route="slow",plugin="rate-limit",decision="rejected"} 0`,
      ]);
      assert.deepEqual(samples(text, "gatehouse_rate_limit_store_failures_total"), []);
      assert.deepEqual(samples(text, "gatehouse_auth_failures_total"), []);
    } finally {
      await gw.stop();
    }
  });

  it("counts authentication failures by plugin and reason", async () => {
    const gw = await startGateway(
      testConfig({
        consumers: [
          { name: "alice", groups: ["admins"], credentials: { keys: [digest("alice-key")] } },
          { name: "bob", groups: ["users"], credentials: { keys: [digest("bob-key")] } },
        ],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "keys",
            match: { paths: ["/keys"] },
            service: "svc",
            plugins: [{ name: "key-auth" }],
          },
          {
            name: "admin",
            match: { paths: ["/admin"] },
            service: "svc",
            plugins: [{ name: "key-auth" }, { name: "acl", config: { allow: ["admins"] } }],
          },
          {
            name: "tokens",
            match: { paths: ["/tokens"] },
            service: "svc",
            plugins: [
              {
                name: "jwt",
                config: { secret, algorithms: ["HS256"], consumerClaim: "sub", leeway: "0s" },
              },
            ],
          },
        ],
      }),
    );
    try {
      const key = new TextEncoder().encode(secret);
      const now = Date.now();
      const valid = await signToken(key, "HS256", { sub: "alice", exp: epochSeconds(now, 60) });
      const expired = await signToken(key, "HS256", { sub: "alice", exp: epochSeconds(now, -60) });
      const stranger = await signToken(key, "HS256", { sub: "mallory" });
      const forged = await signToken(new TextEncoder().encode("x".repeat(32)), "HS256", {
        sub: "alice",
      });
      const calls: [path: string, headers: Record<string, string>, status: number][] = [
        ["/keys", {}, 401],
        ["/keys", {}, 401],
        ["/keys", { "x-api-key": "wrong" }, 401],
        ["/keys", { "x-api-key": "wrong-again" }, 401],
        ["/keys", { "x-api-key": "nope" }, 401],
        ["/keys", { "x-api-key": "alice-key" }, 200],
        ["/admin", { "x-api-key": "bob-key" }, 403],
        ["/admin", { "x-api-key": "alice-key" }, 200],
        ["/tokens", { authorization: `Bearer ${expired}` }, 401],
        ["/tokens", { authorization: `Bearer ${forged}` }, 401],
        ["/tokens", { authorization: `Bearer ${stranger}` }, 401],
        ["/tokens", { authorization: `Bearer ${valid}` }, 200],
        ["/tokens", {}, 401],
      ];
      for (const [path, headers, status] of calls) {
        assert.equal((await get(`${gw.url}${path}`, headers)).statusCode, status, path);
      }
      const name = "gatehouse_auth_failures_total";
      assert.deepEqual(samples(await scrape(gw), name), [
        `${name}{route="admin",plugin="acl",reason="forbidden"} 1`,
        `${name}{route="keys",plugin="authentication",reason="missing"} 2`,
        `${name}{route="keys",plugin="key-auth",reason="invalid"} 3`,
        `${name}{route="tokens",plugin="authentication",reason="missing"} 1`,
        `${name}{route="tokens",plugin="jwt",reason="claims"} 1`,
        `${name}{route="tokens",plugin="jwt",reason="expired"} 1`,
        `${name}{route="tokens",plugin="jwt",reason="invalid"} 1`,
      ]);
    } finally {
      await gw.stop();
    }
  });

  it("counts nothing, and serves no /metrics, with metrics off", async () => {
    const gw = await startGateway(
      testConfig({
        gateway: { metrics: { enabled: false } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "a",
            match: { paths: ["/a"] },
            service: "svc",
            plugins: [
              { name: "key-auth" },
              { name: "rate-limit", config: { limit: 1, window: "1m" } },
            ],
          },
        ],
      }),
    );
    try {
      assert.equal((await get(`${gw.url}/a`)).statusCode, 401);
      assert.equal((await get(`${gw.statusUrl}/metrics`)).statusCode, 404);
    } finally {
      await gw.stop();
    }
  });
});

describe("rate-limit store failure metrics", () => {
  let up: Upstream;
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer();
    up = await startUpstream((_req, res) => res.end("ok"));
  });
  after(async () => {
    await up?.close();
    await redis?.stop();
  });

  it("counts each failed Redis decision by route and fallback, and local decisions too", async () => {
    const route = (name: string, onStoreFailure: string, limit = 2) => ({
      name,
      match: { paths: [`/${name}`] },
      service: "s",
      plugins: [
        { name: "rate-limit", config: { limit, window: "1m", store: "redis", onStoreFailure } },
      ],
    });
    const gw = await startGateway(
      testConfig({
        gateway: { stores: { redis: { url: redis.url, timeout: "500ms" } } },
        services: [{ name: "s", targets: [{ url: up.url }] }],
        routes: [
          route("warm", "open", 1_000_000),
          route("closed", "closed"),
          route("open", "open"),
          route("local", "local"),
        ],
      }),
    );
    try {
      // Only a decision Redis made carries RateLimit headers (open admits without them).
      await until("the Redis connection", async () => {
        const res = await get(`${gw.url}/warm`);
        return res.headers["ratelimit-limit"] !== undefined;
      });
      assert.equal((await get(`${gw.url}/local`)).statusCode, 200, "decided by Redis");
      await redis.kill();
      assert.equal((await get(`${gw.url}/closed`)).statusCode, 503);
      for (let i = 0; i < 2; i++) assert.equal((await get(`${gw.url}/open`)).statusCode, 200);
      const local: number[] = [];
      for (let i = 0; i < 3; i++) local.push((await get(`${gw.url}/local`)).statusCode);
      assert.deepEqual(local, [200, 200, 429], "local limits in memory");

      const text = await scrape(gw);
      const failures = "gatehouse_rate_limit_store_failures_total";
      assert.deepEqual(
        samples(text, failures).filter((line) => !line.includes('route="warm"')),
        [
          `${failures}{route="closed",store="redis",fallback="closed"} 1`,
          `${failures}{route="local",store="redis",fallback="local"} 3`,
          `${failures}{route="open",store="redis",fallback="open"} 2`,
        ],
      );
      const decisions = "gatehouse_rate_limit_decisions_total";
      assert.deepEqual(
        samples(text, decisions).filter((line) => !line.includes('route="warm"')),
        [
          // One by Redis before it died, three in memory after.
          `${decisions}{route="local",plugin="rate-limit",decision="allowed"} 3`,
          `${decisions}{route="local",plugin="rate-limit",decision="rejected"} 1`,
        ],
      );
    } finally {
      await gw.stop();
      await redis.restart();
    }
  });
});

describe("health check metrics", () => {
  it("counts probes by target, type and result, and times them", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    // Accepts connections and never answers: an HTTP probe of it times out.
    const hung = await startUpstream(() => {});
    const refused = "http://127.0.0.1:9"; // discard port: nothing listens
    const active = (type: "http" | "tcp") => ({
      type,
      interval: "30ms",
      timeout: "150ms",
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    });
    const gw = await startGateway(
      testConfig({
        services: [
          {
            name: "web",
            targets: [{ url: up.url }, { url: refused }, { url: hung.url }],
            healthCheck: { active: active("http") },
          },
          {
            name: "raw",
            targets: [{ url: up.url }],
            healthCheck: { active: active("tcp") },
          },
        ],
        routes: [{ name: "r", match: { paths: ["/*"] }, service: "web" }],
      }),
    );
    try {
      const checks = "gatehouse_health_checks_total";
      const count = (text: string, service: string, target: string, type: string, result: string) =>
        value(
          text,
          `${checks}{service="${service}",target="${target}",type="${type}",result="${result}"}`,
        );
      let text = "";
      await until("two probes of every target", async () => {
        text = await scrape(gw);
        return (
          count(text, "web", up.url, "http", "success") >= 2 &&
          count(text, "web", refused, "http", "failure") >= 2 &&
          count(text, "web", hung.url, "http", "timeout") >= 2 &&
          count(text, "raw", up.url, "tcp", "success") >= 2
        );
      });
      const labelSets = samples(text, checks).map((line) => line.slice(0, line.lastIndexOf(" ")));
      const expected = [
        ["raw", up.url, "tcp"],
        ["web", up.url, "http"],
        ["web", refused, "http"],
        ["web", hung.url, "http"],
      ].flatMap(([service, target, type]) =>
        ["failure", "success", "timeout"].map(
          (result) =>
            `${checks}{service="${service}",target="${target}",type="${type}",result="${result}"}`,
        ),
      );
      assert.deepEqual(labelSets, expected.sort());
      // Each target only ever had the one kind of result.
      for (const [target, result] of [
        [up.url, "success"],
        [refused, "failure"],
        [hung.url, "timeout"],
      ] as const) {
        for (const other of ["success", "failure", "timeout"]) {
          if (other !== result) assert.equal(count(text, "web", target, "http", other), 0);
        }
      }
      // One duration per probe, in the same scrape.
      const duration = "gatehouse_health_check_duration_seconds";
      const webProbes = samples(text, checks)
        .filter((line) => line.includes('service="web"'))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
      assert.equal(value(text, `${duration}_count{service="web",type="http"}`), webProbes);
      assert.equal(
        value(text, `${duration}_count{service="raw",type="tcp"}`),
        count(text, "raw", up.url, "tcp", "success"),
      );
      // A timed-out probe took the whole timeout (150 ms): above the 0.1 s bucket.
      const fast = value(text, `${duration}_bucket{service="web",type="http",le="0.1"}`);
      const timeouts = count(text, "web", hung.url, "http", "timeout");
      assert.ok(webProbes - fast >= timeouts, `${webProbes - fast} slow, ${timeouts} timeouts`);
    } finally {
      await gw.stop();
      await up.close();
      await hung.close();
    }
  });
});
