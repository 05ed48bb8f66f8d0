// API versions and caching over real sockets: the cache plugin keeps one entry per version
// the router resolved (header, Accept or query), and answers of a gateway that reads the
// version from a header carry `Vary` naming it, so caches downstream do not mix versions.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

type Versioning = Record<string, string>;

describe("cache plugin with API versions", () => {
  let v1: Upstream;
  let v2: Upstream;
  /** Answers with the version the query names, as one service that serves both would. */
  let both: Upstream;
  const gateways: RunningGateway[] = [];
  const fresh = { "cache-control": "max-age=60", "content-type": "text/plain" };
  before(async () => {
    v1 = await startUpstream((_req, res) => res.writeHead(200, fresh).end("v1"));
    v2 = await startUpstream((_req, res) =>
      res.writeHead(200, { ...fresh, vary: "Accept-Encoding" }).end("v2"),
    );
    both = await startUpstream((req, res) => {
      const version = new URL(req.url ?? "/", "http://upstream").searchParams.get("version");
      res.writeHead(200, fresh).end(`v${version ?? "1"}`);
    });
  });
  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all([v1.close(), v2.close(), both.close()]);
  });

  /** `/items` in versions 1 and 2 (two services), one global cache in front of both. */
  async function start(versioning: Versioning): Promise<RunningGateway> {
    const gateway = await startGateway(
      testConfig({
        gateway: { versioning },
        services: [
          { name: "items-v1", targets: [{ url: v1.url }] },
          { name: "items-v2", targets: [{ url: v2.url }] },
          { name: "items-both", targets: [{ url: both.url }] },
        ],
        routes: [
          { name: "items-1", match: { paths: ["/items"], version: "1" }, service: "items-v1" },
          { name: "items-2", match: { paths: ["/items"], version: "2" }, service: "items-v2" },
          { name: "stock", match: { paths: ["/stock"] }, service: "items-both" },
          {
            name: "notice",
            match: { paths: ["/notice"] },
            service: "items-v1",
            plugins: [{ name: "mock", config: { status: 200, body: "closed today" } }],
          },
        ],
        plugins: [{ name: "cache", config: { key: { query: "none" } } }],
      }),
    );
    gateways.push(gateway);
    return gateway;
  }

  async function get(gateway: RunningGateway, path: string, headers: Record<string, string> = {}) {
    const answer = await request(`${gateway.url}${path}`, { headers });
    return {
      text: await answer.body.text(),
      cache: answer.headers["x-cache-status"],
      vary: answer.headers.vary,
    };
  }

  it("keeps one entry per version named in a header, the default's shared with its name", async () => {
    const gateway = await start({ header: "Api-Version", default: "1" });
    assert.deepEqual(await get(gateway, "/items", { "api-version": "1" }), {
      text: "v1",
      cache: "MISS",
      vary: "Api-Version",
    });
    assert.deepEqual(await get(gateway, "/items", { "api-version": "2" }), {
      text: "v2",
      cache: "MISS",
      vary: "Accept-Encoding, Api-Version",
    });
    assert.deepEqual(await get(gateway, "/items", { "api-version": "2" }), {
      text: "v2",
      cache: "HIT",
      vary: "Accept-Encoding, Api-Version",
    });
    assert.deepEqual(await get(gateway, "/items"), {
      text: "v1",
      cache: "HIT",
      vary: "Api-Version",
    });
  });

  it("keeps one entry per version named in Accept, and answers vary on Accept", async () => {
    const gateway = await start({ accept: "application/vnd.shop.v{version}+json" });
    const asks = (version: string) => ({ accept: `application/vnd.shop.v${version}+json` });
    assert.deepEqual(await get(gateway, "/items", asks("1")), {
      text: "v1",
      cache: "MISS",
      vary: "Accept",
    });
    assert.deepEqual(await get(gateway, "/items", asks("2")), {
      text: "v2",
      cache: "MISS",
      vary: "Accept-Encoding, Accept",
    });
    assert.equal((await get(gateway, "/items", asks("1"))).cache, "HIT");
  });

  it("keeps one entry per version named in a query argument the key leaves out", async () => {
    const gateway = await start({ query: "version", default: "1" });
    assert.deepEqual(await get(gateway, "/stock?version=1"), {
      text: "v1",
      cache: "MISS",
      vary: undefined,
    });
    assert.deepEqual(await get(gateway, "/stock?version=2"), {
      text: "v2",
      cache: "MISS",
      vary: undefined,
    });
    assert.deepEqual(await get(gateway, "/stock?version=2&utm=mail"), {
      text: "v2",
      cache: "HIT",
      vary: undefined,
    });
  });

  it("adds Vary to a plugin's answers and to unversioned routes when a header names versions", async () => {
    const gateway = await start({ header: "Api-Version", default: "1" });
    assert.equal((await get(gateway, "/notice")).vary, "Api-Version");
    const stock = await get(gateway, "/stock", { "api-version": "2" });
    assert.deepEqual(stock, { text: "v1", cache: "MISS", vary: "Api-Version" });
  });
});
