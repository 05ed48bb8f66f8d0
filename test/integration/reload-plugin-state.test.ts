// Plugin state across reloads, over real sockets: a plugin configured at the same place with
// the same config keeps its instance (rate-limit counts, in-flight counts, the JWKS cache);
// one whose config changed starts afresh; authentication sees consumers added by the
// reload; every instance is closed exactly once, whether it was replaced, taken over or
// left from a reload that failed.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { exportJWK } from "jose";
import { request } from "undici";
import { z } from "zod";
import type { GatehouseConfigInput } from "../../src/config/schema/index.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { registerPlugin } from "../../src/plugins/index.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startJwksServer } from "../helpers/jwks-server.ts";
import { epochSeconds, signToken } from "../helpers/tokens.ts";
import { echo, startUpstream } from "../helpers/upstream.ts";

/** Every instance of the "reload-counted" plugin: when it was created and how often closed. */
const counted: { id: number; config: unknown; closes: number }[] = [];
registerPlugin(
  definePlugin({
    name: "reload-counted",
    schema: z.strictObject({ tag: z.string(), fail: z.boolean().default(false) }),
    priority: 500,
    create(config) {
      if (config.fail) throw new Error("this instance cannot be created");
      const instance = { id: counted.length, config, closes: 0 };
      counted.push(instance);
      return {
        close() {
          instance.closes += 1;
        },
      };
    },
  }),
);

function reload(gw: RunningGateway, config: GatehouseConfigInput): Promise<void> {
  return gw.gateway.reload(parseGatewayConfig(JSON.stringify(config), "reload.yaml", {}));
}

async function statusOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await request(url, { headers });
  await res.body.dump();
  return res.statusCode;
}

type RouteInput = NonNullable<GatehouseConfigInput["routes"]>[number];
type PluginInput = NonNullable<RouteInput["plugins"]>[number];

/** A route named `name` on service "svc" at `/name/*`. */
const route = (name: string, plugins: PluginInput[] = []): RouteInput => ({
  name,
  match: { paths: [`/${name}/*`] },
  service: "svc",
  plugins,
});

describe("plugin state across a reload", () => {
  it("keeps a memory rate-limit count through an unrelated change, and restarts it when the limit changes", async () => {
    const up = await startUpstream(echo);
    const config = (limit: number, extraRoute: boolean) =>
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          route("api", [{ name: "rate-limit", config: { limit, window: "1m" } }]),
          ...(extraRoute ? [route("other")] : []),
        ],
      });
    const gw = await startGateway(config(3, false));
    try {
      for (let i = 0; i < 3; i++) assert.equal(await statusOf(`${gw.url}/api/x`), 200);
      await reload(gw, config(3, true));
      assert.equal(await statusOf(`${gw.url}/other/x`), 200, "the added route serves");
      assert.equal(
        await statusOf(`${gw.url}/api/x`),
        429,
        "the 4th request is over the kept count",
      );

      await reload(gw, config(4, true));
      assert.equal(await statusOf(`${gw.url}/api/x`), 200, "a changed limit counts afresh");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("does not fetch the JWKS again after an unrelated change, and does after a jwt change", async () => {
    const up = await startUpstream(echo);
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwks = await startJwksServer([{ ...(await exportJWK(publicKey)), kid: "k1" }]);
    const config = (extraRoute: boolean, leeway = "30s") =>
      testConfig({
        consumers: [{ name: "alice" }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          route("api", [
            {
              name: "jwt",
              config: {
                jwksUri: jwks.jwksUri,
                algorithms: ["RS256"],
                consumerClaim: "sub",
                leeway,
              },
            },
          ]),
          ...(extraRoute ? [route("other")] : []),
        ],
      });
    // A new token each time, so the plugin's token cache cannot answer for the key set.
    const token = async () => {
      const now = Date.now();
      const claims = { sub: "alice", jti: randomUUID(), iat: epochSeconds(now) };
      return signToken(
        privateKey,
        "RS256",
        { ...claims, exp: epochSeconds(now, 300) },
        { kid: "k1" },
      );
    };
    const call = async () =>
      statusOf(`${gw.url}/api/x`, { authorization: `Bearer ${await token()}` });
    const gw = await startGateway(config(false));
    try {
      assert.equal(await call(), 200);
      const fetches = jwks.requests.length;
      assert.equal(fetches, 1);

      await reload(gw, config(true));
      assert.equal(await call(), 200);
      assert.equal(await statusOf(`${gw.url}/other/x`), 200);
      assert.equal(jwks.requests.length, fetches, "the key set was kept, not fetched again");

      await reload(gw, config(true, "10s"));
      assert.equal(await call(), 200);
      assert.equal(jwks.requests.length, fetches + 1, "a changed jwt config fetches its own");
    } finally {
      await gw.stop();
      await up.close();
      await jwks.close();
    }
  });

  it("lets key-auth accept a consumer the reload added, while the route's rate-limit count carries on", async () => {
    const up = await startUpstream(echo);
    const alice = { name: "alice", credentials: { keys: ["alice-key-1234"] } };
    const bob = { name: "bob", credentials: { keys: ["bob-key-5678"] } };
    const config = (consumers: GatehouseConfigInput["consumers"]) =>
      testConfig({
        consumers,
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          route("api", [
            { name: "key-auth" },
            { name: "rate-limit", config: { limit: 3, window: "1m", by: "route" } },
          ]),
        ],
      });
    const as = (key: string) => statusOf(`${gw.url}/api/x`, { "x-api-key": key });
    const gw = await startGateway(config([alice]));
    try {
      assert.equal(await as("alice-key-1234"), 200); // counted: 1
      assert.equal(await as("bob-key-5678"), 401, "bob is not a consumer yet");

      await reload(gw, config([alice, bob]));
      assert.equal(await as("bob-key-5678"), 200, "the added consumer's key works"); // 2
      assert.equal(await as("alice-key-1234"), 200); // 3
      assert.equal(await as("alice-key-1234"), 429, "the route's count went on through the reload");

      await reload(gw, config([bob]));
      assert.equal(await as("alice-key-1234"), 401, "a removed consumer's key stops working");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("keeps the concurrency-limit in-flight count while a slow request is in flight", async () => {
    const waiting: (() => void)[] = [];
    const up = await startUpstream((req, res) => {
      if (req.url === "/api/slow") waiting.push(() => res.end("slow"));
      else res.end("fast");
    });
    const config = (extraRoute: boolean) =>
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          route("api", [{ name: "concurrency-limit", config: { limit: 1 } }]),
          ...(extraRoute ? [route("other")] : []),
        ],
      });
    const gw = await startGateway(config(false));
    try {
      const slow = request(`${gw.url}/api/slow`);
      for (let i = 0; i < 400 && waiting.length === 0; i++)
        await new Promise((r) => setTimeout(r, 5));
      assert.equal(waiting.length, 1, "the slow request reached the upstream");

      await reload(gw, config(true));
      assert.equal(await statusOf(`${gw.url}/api/fast`), 429, "the slot is still taken");

      waiting[0]!();
      const res = await slow;
      assert.equal(await res.body.text(), "slow");
      // The slot comes back to the same count (the gateway sees the end a moment later).
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await statusOf(`${gw.url}/api/fast`);
        if (status !== 200) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(status, 200);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("closes each instance exactly once: replaced ones at the reload, kept ones at stop, a failed reload's own at once", async () => {
    counted.length = 0;
    const up = await startUpstream(echo);
    const plugin = (tag: string, fail = false) => ({
      name: "reload-counted",
      config: { tag, fail },
    });
    const config = (routes: RouteInput[]) =>
      testConfig({
        plugins: [plugin("global")],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes,
      });
    const closes = () => counted.map(({ closes }) => closes);
    const gw = await startGateway(config([route("a", [plugin("a")]), route("b")]));
    try {
      assert.equal(counted.length, 2, "one global instance for both routes, one for route a");

      await reload(gw, config([route("a", [plugin("a")]), route("b"), route("c")]));
      assert.equal(counted.length, 2, "nothing created for an unrelated change");
      assert.deepEqual(closes(), [0, 0], "nothing closed");

      await reload(gw, config([route("a", [plugin("a2")]), route("b"), route("c")]));
      assert.equal(counted.length, 3, "route a's changed config made a new instance");
      const replaced = counted.findIndex(({ config }) => (config as { tag: string }).tag === "a");
      assert.deepEqual(
        closes().map((count, id) => [id === replaced, count]),
        counted.map((_, id) => [id === replaced, id === replaced ? 1 : 0]),
        "only the replaced instance was closed",
      );

      // A reload whose compile fails: what it created is closed, what it took over stays.
      await assert.rejects(
        reload(
          gw,
          config([
            route("a", [plugin("a2")]),
            route("d", [plugin("d")]),
            route("e", [plugin("e", true)]),
          ]),
        ),
        /cannot be created/,
      );
      assert.equal(counted.length, 4, "route d's instance was created before e failed");
      assert.equal(counted[3]!.closes, 1, "and closed when the compile failed");
      assert.equal(await statusOf(`${gw.url}/a/x`), 200, "the last good config still serves");
      assert.equal(await statusOf(`${gw.url}/c/x`), 200);

      await reload(gw, config([route("a", [plugin("a2")]), route("b")]));
      assert.equal(counted.length, 4, "the failed reload gave its taken instances back");
    } finally {
      await gw.stop();
      await up.close();
    }
    assert.deepEqual(closes(), [1, 1, 1, 1], "stop closed the rest, none twice");
  });
});
