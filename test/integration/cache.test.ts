// The cache plugin over real sockets against a real upstream: RFC 9111 storability and
// freshness (Cache-Control, s-maxage, private, no-store, no-cache, Expires, Age),
// Authorization, Vary and Accept-Encoding, revalidation with ETag and Last-Modified,
// 304s to clients, stale-while-revalidate, stale-if-error with the upstream gone, request
// collapsing, the byte bound, large bodies passing uncached, and the X-Cache-Status header.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What the upstream answers, by path; each test sets its own paths. */
const handlers = new Map<string, Handler>();
const calls = new Map<string, number>();
const agent = new Agent({ keepAliveTimeout: 1000, connections: 64 });

function serve(path: string, handler: Handler): void {
  handlers.set(path, handler);
}

function upstreamCalls(path: string): number {
  return calls.get(path) ?? 0;
}

async function get(base: string, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, { headers, dispatcher: agent });
  const body = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    cache: res.headers["x-cache-status"],
  };
}

function fixed(body: string, headers: Record<string, string>, status = 200): Handler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "text/plain", ...headers });
    res.end(body);
  };
}

let up: Upstream;
let gw: RunningGateway;

async function startCacheGateway(url: string, config: Record<string, unknown> = {}) {
  return startGateway(
    testConfig({
      services: [{ name: "origin", targets: [{ url }] }],
      routes: [
        {
          name: "cached",
          match: { paths: ["/*"] },
          service: "origin",
          plugins: [{ name: "cache", config }],
        },
      ],
    }),
  );
}

describe("cache plugin", () => {
  before(async () => {
    up = await startUpstream((req, res) => {
      const path = (req.url ?? "/").split("?")[0]!;
      calls.set(path, (calls.get(path) ?? 0) + 1);
      const handler = handlers.get(path);
      if (handler) handler(req, res);
      else res.writeHead(404).end("no handler");
    });
    gw = await startCacheGateway(up.url, { key: { query: ["page"] } });
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await agent.close();
  });

  it("stores a max-age response: MISS then HIT with Age, without calling the upstream", async () => {
    serve("/fresh", fixed("fresh body", { "cache-control": "max-age=60" }));
    const first = await get(gw.url, "/fresh");
    assert.equal(first.cache, "MISS");
    assert.equal(first.body, "fresh body");
    const second = await get(gw.url, "/fresh");
    assert.equal(second.cache, "HIT");
    assert.equal(second.body, "fresh body");
    assert.equal(second.headers["content-type"], "text/plain");
    assert.match(String(second.headers.age), /^\d+$/);
    assert.equal(upstreamCalls("/fresh"), 1);
    // HEAD is answered from GET's entry.
    const head = await request(`${gw.url}/fresh`, { method: "HEAD", dispatcher: agent });
    await head.body.dump();
    assert.equal(head.headers["x-cache-status"], "HIT");
    assert.equal(head.headers["content-length"], String("fresh body".length));
    assert.equal(upstreamCalls("/fresh"), 1);
  });

  it("s-maxage beats max-age, and Expires gives freshness when nothing else does", async () => {
    serve("/smax", fixed("s", { "cache-control": "max-age=0, s-maxage=60" }));
    await get(gw.url, "/smax");
    assert.equal((await get(gw.url, "/smax")).cache, "HIT");
    assert.equal(upstreamCalls("/smax"), 1);
    const expires = new Date(Date.now() + 60_000).toUTCString();
    serve("/expires", fixed("e", { expires, date: new Date().toUTCString() }));
    await get(gw.url, "/expires");
    assert.equal((await get(gw.url, "/expires")).cache, "HIT");
    assert.equal(upstreamCalls("/expires"), 1);
  });

  it("counts the upstream's Age: an entry already older than its max-age is never fresh", async () => {
    serve("/aged", fixed("aged", { "cache-control": "max-age=60", age: "55" }));
    await get(gw.url, "/aged");
    const hit = await get(gw.url, "/aged");
    assert.equal(hit.cache, "HIT");
    assert.ok(Number(hit.headers.age) >= 55, `age ${hit.headers.age}`);
    serve("/too-old", fixed("old", { "cache-control": "max-age=60", age: "70" }));
    await get(gw.url, "/too-old");
    assert.equal((await get(gw.url, "/too-old")).cache, "MISS");
    assert.equal(upstreamCalls("/too-old"), 2);
  });

  it("never stores private, no-store, Set-Cookie or Vary: * responses, nor non-GET ones", async () => {
    const cases: [string, Record<string, string>][] = [
      ["/private", { "cache-control": "private, max-age=60" }],
      ["/no-store", { "cache-control": "no-store, max-age=60" }],
      ["/cookie", { "cache-control": "max-age=60", "set-cookie": "a=b" }],
      ["/vary-star", { "cache-control": "max-age=60", vary: "*" }],
      ["/no-freshness", {}],
    ];
    for (const [path, headers] of cases) {
      serve(path, fixed("x", headers));
      assert.equal((await get(gw.url, path)).cache, "MISS", path);
      assert.equal((await get(gw.url, path)).cache, "MISS", path);
      assert.equal(upstreamCalls(path), 2, path);
    }
    serve("/post", fixed("p", { "cache-control": "max-age=60" }));
    for (let i = 0; i < 2; i++) {
      const res = await request(`${gw.url}/post`, { method: "POST", body: "x", dispatcher: agent });
      await res.body.dump();
      assert.equal(res.headers["x-cache-status"], "BYPASS");
    }
    assert.equal(upstreamCalls("/post"), 2);
  });

  it("never stores a 206; a Range request is answered whole from a stored response", async () => {
    serve("/ranged", (req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { "cache-control": "max-age=60", "content-range": "bytes 0-1/6" });
        res.end("ab");
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=60" }).end("abcdef");
    });
    assert.equal((await get(gw.url, "/ranged", { range: "bytes=0-1" })).status, 206);
    const whole = await get(gw.url, "/ranged");
    assert.deepEqual([whole.status, whole.cache, whole.body], [200, "MISS", "abcdef"]);
    const fromCache = await get(gw.url, "/ranged", { range: "bytes=0-1" });
    assert.deepEqual([fromCache.status, fromCache.cache, fromCache.body], [200, "HIT", "abcdef"]);
  });

  it("an Upgrade request is never answered from the store", async () => {
    serve("/socket", fixed("plain answer", { "cache-control": "max-age=60" }));
    await get(gw.url, "/socket");
    assert.equal((await get(gw.url, "/socket")).cache, "HIT");
    const upgrade = await rawRequest(
      gw.port,
      `GET /socket HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert.ok(upgrade.status > 0, upgrade.text);
    assert.notEqual(upgrade.headers["x-cache-status"], "HIT");
    // It went to the upstream, not to the stored answer.
    assert.equal(upstreamCalls("/socket"), 2);
  });

  it("a request's Cache-Control: no-store bypasses, no-cache goes upstream", async () => {
    serve("/req-cc", fixed("r", { "cache-control": "max-age=60" }));
    await get(gw.url, "/req-cc");
    assert.equal((await get(gw.url, "/req-cc", { "cache-control": "no-store" })).cache, "BYPASS");
    assert.equal((await get(gw.url, "/req-cc", { "cache-control": "no-cache" })).cache, "MISS");
    assert.equal(upstreamCalls("/req-cc"), 3);
    assert.equal((await get(gw.url, "/req-cc")).cache, "HIT");
  });

  it("no-cache responses are stored and revalidated with their ETag every time (REVALIDATED)", async () => {
    let version = "v1";
    serve("/etag", (req, res) => {
      if (req.headers["if-none-match"] === `"${version}"`) {
        res.writeHead(304, { etag: `"${version}"`, "cache-control": "no-cache" }).end();
        return;
      }
      res.writeHead(200, { etag: `"${version}"`, "cache-control": "no-cache" }).end(version);
    });
    assert.equal((await get(gw.url, "/etag")).cache, "MISS");
    const again = await get(gw.url, "/etag");
    assert.equal(again.cache, "REVALIDATED");
    assert.equal(again.status, 200);
    assert.equal(again.body, "v1");
    assert.equal(up.requests.at(-1)!.headers["if-none-match"], '"v1"');
    version = "v2";
    const changed = await get(gw.url, "/etag");
    assert.equal(changed.body, "v2");
    assert.equal(changed.cache, "MISS");
    assert.equal((await get(gw.url, "/etag")).body, "v2");
  });

  it("revalidates a stale entry with Last-Modified (If-Modified-Since) and refreshes it", async () => {
    const modified = new Date(Date.now() - 3_600_000).toUTCString();
    serve("/lm", (req, res) => {
      if (req.headers["if-modified-since"] === modified) {
        res.writeHead(304, { "cache-control": "max-age=60", "last-modified": modified }).end();
        return;
      }
      res.writeHead(200, { "cache-control": "max-age=1", "last-modified": modified }).end("lm");
    });
    await get(gw.url, "/lm");
    assert.equal((await get(gw.url, "/lm")).cache, "HIT");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const revalidated = await get(gw.url, "/lm");
    assert.equal(revalidated.cache, "REVALIDATED");
    assert.equal(revalidated.body, "lm");
    // The 304's max-age=60 refreshed the entry: fresh again, no more upstream calls.
    assert.equal((await get(gw.url, "/lm")).cache, "HIT");
    assert.equal(upstreamCalls("/lm"), 2);
  });

  it("answers 304 to a client whose If-None-Match or If-Modified-Since matches a fresh entry", async () => {
    const modified = new Date(Date.now() - 60_000).toUTCString();
    serve(
      "/cond",
      fixed("c", { "cache-control": "max-age=60", etag: 'W/"c1"', "last-modified": modified }),
    );
    await get(gw.url, "/cond");
    const byTag = await get(gw.url, "/cond", { "if-none-match": '"other", "c1"' });
    assert.equal(byTag.status, 304);
    assert.equal(byTag.body, "");
    assert.equal(byTag.headers.etag, 'W/"c1"');
    assert.equal(byTag.cache, "HIT");
    assert.equal((await get(gw.url, "/cond", { "if-none-match": '"other"' })).status, 200);
    assert.equal((await get(gw.url, "/cond", { "if-modified-since": modified })).status, 304);
    const earlier = new Date(Date.now() - 120_000).toUTCString();
    assert.equal((await get(gw.url, "/cond", { "if-modified-since": earlier })).status, 200);
    assert.equal(upstreamCalls("/cond"), 1);
  });

  it("a request with Authorization reuses only responses that allow it (public, s-maxage)", async () => {
    serve("/auth-plain", fixed("plain", { "cache-control": "max-age=60" }));
    await get(gw.url, "/auth-plain");
    const authorized = await get(gw.url, "/auth-plain", { authorization: "Bearer a" });
    assert.equal(authorized.cache, "BYPASS");
    assert.equal(upstreamCalls("/auth-plain"), 2);
    // Its own response is not stored either: the next authorized request goes upstream.
    await get(gw.url, "/auth-plain", { authorization: "Bearer a" });
    assert.equal(upstreamCalls("/auth-plain"), 3);
    serve("/auth-public", fixed("pub", { "cache-control": "public, max-age=60" }));
    assert.equal((await get(gw.url, "/auth-public", { authorization: "Bearer a" })).cache, "MISS");
    assert.equal((await get(gw.url, "/auth-public", { authorization: "Bearer b" })).cache, "HIT");
    serve("/auth-smax", fixed("smax", { "cache-control": "s-maxage=60" }));
    await get(gw.url, "/auth-smax", { authorization: "Bearer a" });
    assert.equal((await get(gw.url, "/auth-smax", { authorization: "Bearer a" })).cache, "HIT");
    assert.equal(upstreamCalls("/auth-public") + upstreamCalls("/auth-smax"), 2);
  });

  it("keeps one entry per value of the headers a response varies on", async () => {
    serve("/vary", (req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60", vary: "Accept-Language" });
      res.end(`lang=${req.headers["accept-language"] ?? "none"}`);
    });
    assert.equal((await get(gw.url, "/vary", { "accept-language": "fr" })).body, "lang=fr");
    assert.equal((await get(gw.url, "/vary", { "accept-language": "de" })).body, "lang=de");
    const fr = await get(gw.url, "/vary", { "accept-language": "fr" });
    assert.equal(fr.body, "lang=fr");
    assert.equal(fr.cache, "HIT");
    const de = await get(gw.url, "/vary", { "accept-language": "de" });
    assert.equal(de.body, "lang=de");
    assert.equal(de.cache, "HIT");
    assert.equal(upstreamCalls("/vary"), 2);
  });

  it("keys by Accept-Encoding always, normalised (order and q-values)", async () => {
    serve("/ae", (req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(`ae=${req.headers["accept-encoding"] ?? ""}`);
    });
    assert.equal((await get(gw.url, "/ae", { "accept-encoding": "gzip, br" })).cache, "MISS");
    const reordered = await get(gw.url, "/ae", { "accept-encoding": "br;q=0.9, GZIP" });
    assert.equal(reordered.cache, "HIT");
    assert.equal(reordered.body, "ae=gzip, br");
    const identity = await get(gw.url, "/ae", { "accept-encoding": "identity" });
    assert.equal(identity.cache, "MISS");
    assert.equal(identity.body, "ae=identity");
    assert.equal(
      (await get(gw.url, "/ae", { "accept-encoding": "gzip, br, zstd;q=0" })).cache,
      "HIT",
    );
  });

  it("keys by the configured query arguments only, in any order", async () => {
    serve("/q", (req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60" });
      res.end(req.url);
    });
    assert.equal((await get(gw.url, "/q?page=2&utm=a")).cache, "MISS");
    assert.equal((await get(gw.url, "/q?utm=b&page=2")).cache, "HIT");
    assert.equal((await get(gw.url, "/q?page=3")).cache, "MISS");
  });

  it("collapses concurrent misses for one key into one upstream request", async () => {
    serve("/slow", (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { "cache-control": "max-age=60" });
        res.end("slow");
      }, 150);
    });
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(gw.url, "/slow")));
    assert.equal(upstreamCalls("/slow"), 1);
    assert.ok(answers.every((answer) => answer.body === "slow"));
    assert.equal(answers.filter((answer) => answer.cache === "MISS").length, 1);
    assert.equal(answers.filter((answer) => answer.cache === "HIT").length, 19);
  });

  it("lets waiters go upstream themselves when the first answer is not storable", async () => {
    serve("/slow-private", (_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { "cache-control": "private" });
        res.end("mine");
      }, 100);
    });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => get(gw.url, "/slow-private")),
    );
    assert.ok(answers.every((answer) => answer.body === "mine" && answer.cache === "MISS"));
    assert.equal(upstreamCalls("/slow-private"), 5);
  });

  it("stale-while-revalidate: serves the stale entry and refreshes it once in the background", async () => {
    let version = 1;
    serve("/swr", (_req, res) => {
      res.writeHead(200, { "cache-control": "max-age=1, stale-while-revalidate=30" });
      setTimeout(() => res.end(`v${version}`), 100);
    });
    await get(gw.url, "/swr");
    version = 2;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const stale = await Promise.all([
      get(gw.url, "/swr"),
      get(gw.url, "/swr"),
      get(gw.url, "/swr"),
    ]);
    assert.deepEqual(
      stale.map((answer) => [answer.cache, answer.body]),
      [
        ["STALE", "v1"],
        ["STALE", "v1"],
        ["STALE", "v1"],
      ],
    );
    await until(async () => (await get(gw.url, "/swr")).body === "v2", "the background refresh");
    assert.equal(upstreamCalls("/swr"), 2);
    assert.equal((await get(gw.url, "/swr")).cache, "HIT");
  });
});
