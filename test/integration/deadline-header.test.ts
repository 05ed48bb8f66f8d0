// The request's remaining time sent upstream as x-request-timeout-ms: on each try of a
// service with timeouts.total (what is left of it then), never without one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

describe("x-request-timeout-ms upstream", () => {
  it("sends what is left of timeouts.total on each try, the retry's less than the first's", async () => {
    const seen: string[] = [];
    let tries = 0;
    const up = await startUpstream((req, res) => {
      seen.push(String(req.headers["x-request-timeout-ms"]));
      // The first try fails slowly, so the retry leaves later with less time.
      if (tries++ === 0) setTimeout(() => res.writeHead(503).end(), 300);
      else res.end("ok");
    });
    const gw = await startSimpleGateway([up.url], {}, {}, { timeouts: { total: "5s" } });
    try {
      const res = await request(`${gw.url}/x`);
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      const [first, retry] = seen.map(Number);
      assert.equal(seen.length, 2, `two tries: ${seen}`);
      assert.ok(first! <= 5000 && first! > 4000, `the first try has about 5 s: ${first}`);
      assert.ok(retry! <= first! - 250, `the retry has at least 250 ms less: ${first}, ${retry}`);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("keeps the client's own shorter time, and replaces a longer one", async () => {
    const seen: string[] = [];
    const up = await startUpstream((req, res) => {
      seen.push(String(req.headers["x-request-timeout-ms"]));
      res.end("ok");
    });
    const gw = await startSimpleGateway([up.url], {}, {}, { timeouts: { total: "5s" } });
    try {
      for (const sent of ["800", "60000"]) {
        const res = await request(`${gw.url}/x`, { headers: { "x-request-timeout-ms": sent } });
        await res.body.dump();
      }
      const [short, long] = seen.map(Number);
      assert.ok(short! <= 800 && short! > 500, `the client's 800 ms stands: ${short}`);
      assert.ok(long! <= 5000 && long! > 4000, `60 s is cut to the gateway's 5 s: ${long}`);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("sends none for a service without a total timeout, passing the client's on", async () => {
    const seen: (string | undefined)[] = [];
    const up = await startUpstream((req, res) => {
      seen.push(req.headers["x-request-timeout-ms"] as string | undefined);
      res.end("ok");
    });
    const gw = await startSimpleGateway([up.url]);
    try {
      for (const headers of [{}, { "x-request-timeout-ms": "700" }]) {
        const res = await request(`${gw.url}/x`, { headers });
        await res.body.dump();
      }
      assert.deepEqual(seen, [undefined, "700"]);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
