// The cache behind CORS: the answers the cache gives from inside onResponse (REVALIDATED
// after a 304, STALE after a 5xx) carry the CORS headers too, as a MISS and a HIT do, so a
// browser's cross-origin call does not fail exactly when the cache serves one of those.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const origin = "https://app.example.com";
const agent = new Agent({ keepAliveTimeout: 1000 });

async function get(base: string, path: string) {
  const res = await request(`${base}${path}`, { dispatcher: agent, headers: { origin } });
  return {
    status: res.statusCode,
    body: await res.body.text(),
    cache: res.headers["x-cache-status"],
    allowOrigin: res.headers["access-control-allow-origin"],
    vary: res.headers.vary,
  };
}

describe("cache with cors", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let failing = false;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === "/etag" && req.headers["if-none-match"] === '"v1"') {
        res.writeHead(304, { etag: '"v1"', "cache-control": "no-cache" }).end();
      } else if (req.url === "/etag") {
        res.writeHead(200, { etag: '"v1"', "cache-control": "no-cache" }).end("v1");
      } else if (failing) {
        res.writeHead(503).end("down");
      } else {
        res.writeHead(200, { "cache-control": "max-age=0, stale-if-error=60" }).end("fresh");
      }
    });
    gw = await startGateway(
      testConfig({
        services: [{ name: "origin", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "cached",
            match: { paths: ["/*"] },
            service: "origin",
            plugins: [
              { name: "cache", config: {} },
              { name: "cors", config: { origins: [origin] } },
            ],
          },
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
    await agent.close();
  });

  it("a REVALIDATED answer carries access-control-allow-origin", async () => {
    const miss = await get(gw.url, "/etag");
    assert.deepEqual([miss.cache, miss.allowOrigin], ["MISS", origin]);
    const again = await get(gw.url, "/etag");
    assert.deepEqual(
      [again.status, again.cache, again.body, again.allowOrigin],
      [200, "REVALIDATED", "v1", origin],
    );
    assert.match(String(again.vary), /origin/i);
  });

  it("a STALE answer (stale-if-error after a 5xx) carries access-control-allow-origin", async () => {
    const miss = await get(gw.url, "/sie");
    assert.deepEqual([miss.cache, miss.allowOrigin], ["MISS", origin]);
    // With max-age=0 the stored entry is stale at once: the next request goes upstream,
    // which fails, and the cache answers with the entry.
    failing = true;
    const stale = await get(gw.url, "/sie");
    assert.deepEqual(
      [stale.status, stale.cache, stale.body, stale.allowOrigin],
      [200, "STALE", "fresh", origin],
    );
  });
});
