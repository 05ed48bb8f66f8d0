// rate-limit with the memory store over real sockets: exactly N of N+k concurrent
// requests admitted, 429s with Retry-After and RateLimit-* headers, several limits, the
// keys (ip, consumer, header, combined, and the fall back to the client IP), and config
// errors located at FILE:LINE:COL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Pool, request } from "undici";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("rate-limit (memory store)", () => {
  let up: Upstream;
  let gw: RunningGateway;
  const route = (
    name: string,
    config: Record<string, unknown>,
    extra: { name: string; config?: Record<string, unknown> }[] = [],
  ) => ({
    name,
    match: { paths: [`/${name}`, `/${name}/*`] },
    service: "svc",
    plugins: [...extra, { name: "rate-limit", config }],
  });

  before(async () => {
    up = await startUpstream(echo);
    gw = await startGateway(
      testConfig({
        // Client IPs come from X-Forwarded-For, so one test machine can be many clients.
        gateway: { trustedProxies: ["127.0.0.1/32"] },
        consumers: [
          { name: "alice", credentials: { keys: ["alice-key-0001"] } },
          { name: "bob", credentials: { keys: ["bob-key-00001"] } },
        ],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          route("exact", { limit: 20, window: "1m" }),
          route("tight", {
            limits: [
              { limit: 5, window: "1m" },
              { limit: 3, window: "1s" },
            ],
          }),
          route("by-ip", { limit: 2, window: "1m" }),
          route("by-header", { limit: 2, window: "1m", by: { header: "x-tenant" } }),
          route("by-consumer", { limit: 2, window: "1m", by: "consumer" }, [
            { name: "key-auth", config: { anonymous: "guest" } },
          ]),
          route("combined", { limit: 1, window: "1m", by: ["consumer", { header: "x-tenant" }] }, [
            { name: "key-auth" },
          ]),
          route("quiet", { limit: 1, window: "1m", headers: false }),
          route("bucket", { limit: 2, window: "1m", algorithm: "token-bucket" }),
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  const call = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}${path}`, { headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };
  const statuses = async (path: string, count: number, headers: Record<string, string> = {}) => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push((await call(path, headers)).status);
    return out;
  };

  it("admits exactly N of N+k concurrent requests; the rest get 429 with Retry-After and RateLimit-*", async () => {
    const pool = new Pool(gw.url, { connections: 30 });
    try {
      const responses = await Promise.all(
        Array.from({ length: 30 }, async () => {
          const res = await pool.request({ path: "/exact", method: "GET" });
          return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
        }),
      );
      const admitted = responses.filter((res) => res.status === 200);
      const refused = responses.filter((res) => res.status === 429);
      assert.equal(admitted.length, 20);
      assert.equal(refused.length, 10);
      assert.deepEqual(
        admitted.map((res) => Number(res.headers["ratelimit-remaining"])).sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i),
        "admitted responses count RateLimit-Remaining down from 19 to 0",
      );
      for (const res of [...admitted, ...refused]) {
        assert.equal(res.headers["ratelimit-limit"], "20");
        assert.equal(res.headers["ratelimit-policy"], "20;w=60");
        assert.match(String(res.headers["ratelimit-reset"]), /^[1-9]\d*$/);
      }
      for (const res of refused) {
        assert.equal(JSON.parse(res.text).error.code, "GATEHOUSE_RATE_LIMITED");
        assert.equal(res.headers["ratelimit-remaining"], "0");
        const retryAfter = Number(res.headers["retry-after"]);
        assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60);
      }
      assert.equal(up.requests.filter((req) => req.url === "/exact").length, 20);
    } finally {
      await pool.close();
    }
  });

  it("applies the tighter of several limits and reports it, with every limit in RateLimit-Policy", async () => {
    const first = await call("/tight");
    assert.equal(first.status, 200);
    assert.equal(first.headers["ratelimit-limit"], "3");
    assert.equal(first.headers["ratelimit-remaining"], "2");
    assert.equal(first.headers["ratelimit-policy"], "5;w=60, 3;w=1");
    assert.deepEqual(await statuses("/tight", 3), [200, 200, 429]);
    const refused = await call("/tight");
    assert.equal(refused.headers["ratelimit-limit"], "3");
    assert.equal(refused.headers["retry-after"], "1");
  });

  it("counts per client IP by default", async () => {
    const from = (ip: string) => ({ "x-forwarded-for": ip });
    assert.deepEqual(await statuses("/by-ip", 3, from("10.0.0.1")), [200, 200, 429]);
    assert.deepEqual(await statuses("/by-ip", 2, from("10.0.0.2")), [200, 200]);
  });

  it("counts per header value, and per client IP when the header is missing", async () => {
    const tenant = (name: string, ip = "10.1.0.1") => ({ "x-tenant": name, "x-forwarded-for": ip });
    assert.deepEqual(await statuses("/by-header", 3, tenant("acme")), [200, 200, 429]);
    assert.deepEqual(await statuses("/by-header", 2, tenant("globex")), [200, 200]);
    const noTenant = (ip: string) => ({ "x-forwarded-for": ip });
    assert.deepEqual(await statuses("/by-header", 3, noTenant("10.1.0.2")), [200, 200, 429]);
    assert.deepEqual(await statuses("/by-header", 1, noTenant("10.1.0.3")), [200]);
  });

  it("counts per consumer whatever its IP, and anonymous requests under their consumer", async () => {
    const key = (value: string, ip: string) => ({ "x-api-key": value, "x-forwarded-for": ip });
    assert.equal((await call("/by-consumer", key("alice-key-0001", "10.2.0.1"))).status, 200);
    assert.equal((await call("/by-consumer", key("alice-key-0001", "10.2.0.2"))).status, 200);
    assert.equal((await call("/by-consumer", key("alice-key-0001", "10.2.0.3"))).status, 429);
    assert.deepEqual(
      await statuses("/by-consumer", 2, key("bob-key-00001", "10.2.0.1")),
      [200, 200],
    );
    assert.deepEqual(
      await statuses("/by-consumer", 3, { "x-forwarded-for": "10.2.0.9" }),
      [200, 200, 429],
      "the anonymous consumer guest is one key",
    );
  });

  it("combines keys: each consumer and tenant pair counts apart", async () => {
    const as = (apiKey: string, tenant: string) => ({ "x-api-key": apiKey, "x-tenant": tenant });
    assert.deepEqual(await statuses("/combined", 2, as("alice-key-0001", "acme")), [200, 429]);
    assert.deepEqual(await statuses("/combined", 1, as("alice-key-0001", "globex")), [200]);
    assert.deepEqual(await statuses("/combined", 1, as("bob-key-00001", "acme")), [200]);
  });

  it("sends no RateLimit headers with headers: false, and still Retry-After on a 429", async () => {
    const admitted = await call("/quiet", { "x-forwarded-for": "10.3.0.1" });
    assert.equal(admitted.headers["ratelimit-limit"], undefined);
    const refused = await call("/quiet", { "x-forwarded-for": "10.3.0.1" });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers["ratelimit-remaining"], undefined);
    assert.match(String(refused.headers["retry-after"]), /^[1-9]\d*$/);
  });

  it("token bucket: a burst of N, then one per window / N", async () => {
    const from = { "x-forwarded-for": "10.4.0.1" };
    assert.deepEqual(await statuses("/bucket", 3, from), [200, 200, 429]);
    const refused = await call("/bucket", from);
    assert.equal(refused.headers["retry-after"], "30", "one token per 30s at 2/min");
  });
});

describe("rate-limit config", () => {
  const configWith = (pluginConfig: string, gateway = "") =>
    [
      `gateway: { listen: [{ port: 8080 }]${gateway} }`,
      "services: [{ name: s, targets: [{ url: http://127.0.0.1:9 }] }]",
      "routes:",
      "  - name: r",
      '    match: { paths: ["/*"] }',
      "    service: s",
      "    plugins:",
      `      - { name: rate-limit, config: ${pluginConfig} }`,
    ].join("\n");
  const problemsOf = configProblems;

  it("refuses store: redis with no Redis URL anywhere, located at the store key", () => {
    const problems = problemsOf(configWith("{ limit: 5, window: 1s, store: redis }"));
    assert.ok(
      problems.some((line) =>
        /^gw\.yaml:8:\d+ routes\[0\]\.plugins\[0\]\.config\.store: store "redis" needs a Redis/.test(
          line,
        ),
      ),
      problems.join("\n"),
    );
  });

  it("accepts store: redis with gateway.stores.redis or the plugin's own redis.url", () => {
    const gatewayStore = ", stores: { redis: { url: redis://127.0.0.1:1 } }";
    assert.deepEqual(
      problemsOf(configWith("{ limit: 5, window: 1s, store: redis }", gatewayStore)),
      [],
    );
    const own = "{ limit: 5, window: 1s, store: redis, redis: { url: redis://127.0.0.1:1 } }";
    assert.deepEqual(problemsOf(configWith(own)), []);
  });

  it("wants exactly one of limits, or limit and window", () => {
    const both = problemsOf(
      configWith("{ limit: 5, window: 1s, limits: [{ limit: 1, window: 1s }] }"),
    );
    assert.ok(
      both.some((line) => line.includes("give either `limits` or `limit` and `window`")),
      both.join("\n"),
    );
    const neither = problemsOf(configWith("{ by: ip }"));
    assert.ok(
      neither.some((line) => line.includes("give `limit` and `window`, or `limits`")),
      neither.join("\n"),
    );
    const half = problemsOf(configWith("{ limit: 5 }"));
    assert.ok(
      half.some((line) => line.includes("`window` is required with `limit`")),
      half.join("\n"),
    );
    const zero = problemsOf(configWith("{ limit: 5, window: 0s }"));
    assert.ok(
      zero.some((line) => /config\.window: a window must be longer than 0/.test(line)),
      zero.join("\n"),
    );
  });
});
