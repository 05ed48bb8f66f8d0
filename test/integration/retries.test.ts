// Retries over real sockets: a dead target costs clients nothing, 5xx answers and failed
// connections move to another target, and the retry budget holds when every target fails.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("retries", () => {
  it("loses no request when one of three targets dies under steady traffic (retries + ejection)", async () => {
    const ups: Upstream[] = [];
    for (let i = 0; i < 3; i++) ups.push(await startUpstream((_req, res) => res.end(`up${i}`)));
    const gw = await startSimpleGateway(
      ups.map((up) => up.url),
      {},
      {},
      {
        healthCheck: { passive: { consecutiveFailures: 2 } },
      },
    );
    try {
      const statuses: number[] = [];
      let killed = false;
      const load = async (worker: number) => {
        for (let i = 0; i < 60; i++) {
          if (worker === 0 && i === 20 && !killed) {
            killed = true;
            await ups[1]!.close();
          }
          const res = await request(`${gw.url}/item/${i}`);
          await res.body.dump();
          statuses.push(res.statusCode);
        }
      };
      await Promise.all([0, 1, 2, 3].map(load));
      assert.equal(statuses.length, 240);
      assert.deepEqual(
        statuses.filter((status) => status !== 200),
        [],
        "every request succeeded",
      );
    } finally {
      await gw.stop();
      for (const up of ups) await up.close();
    }
  });

  it("retries a 503 on another target for GET, not for POST", async () => {
    const bad = await startUpstream((_req, res) => {
      res.writeHead(503).end("bad");
    });
    const good = await startUpstream((_req, res) => res.end("good"));
    const gw = await startSimpleGateway([bad.url, good.url]);
    try {
      for (let i = 0; i < 4; i++) {
        const res = await request(`${gw.url}/x`);
        assert.equal(res.statusCode, 200);
        assert.equal(await res.body.text(), "good");
      }
      const posts = [];
      for (let i = 0; i < 4; i++) {
        const res = await request(`${gw.url}/x`, { method: "POST", body: "{}" });
        posts.push(`${res.statusCode} ${await res.body.text()}`);
      }
      assert.ok(
        posts.includes("503 bad"),
        `a POST that reached the failing target is not retried: ${posts}`,
      );
    } finally {
      await gw.stop();
      await bad.close();
      await good.close();
    }
  });

  it("retries a POST whose connection failed (it never reached the upstream), body intact", async () => {
    const dead = await startUpstream();
    const deadUrl = dead.url;
    await dead.close();
    const good = await startUpstream();
    const gw = await startSimpleGateway([deadUrl, good.url]);
    try {
      for (let i = 0; i < 4; i++) {
        const res = await request(`${gw.url}/orders`, { method: "POST", body: "x".repeat(1000) });
        assert.equal(res.statusCode, 200);
        assert.equal(((await res.body.json()) as { bodySize: number }).bodySize, 1000);
      }
    } finally {
      await gw.stop();
      await good.close();
    }
  });

  it("answers the last failure when attempts run out", async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(502).end("nope");
    });
    const gw = await startSimpleGateway([up.url], {}, {}, { retries: { attempts: 2 } });
    try {
      const res = await request(`${gw.url}/x`);
      assert.equal(res.statusCode, 502);
      assert.equal(await res.body.text(), "nope");
      assert.equal(up.requests.length, 3, "one try and two retries");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("counts a retry against the budget from when its try is sent, not during its backoff", async () => {
    // It answers once all six requests have picked their first target (round-robin: three each).
    const bad = await startUpstream((_req, res) => {
      setTimeout(() => res.writeHead(503).end("bad"), 50);
    });
    const good = await startUpstream((_req, res) => res.end("good"));
    // Two retries may be in flight; three wait out backoffs of up to 1.5s at once. Their
    // tries to `good` take a few milliseconds each (tens on a loaded machine), so all three
    // are almost never in flight together: a budget counting the waits would refuse the third.
    const gw = await startSimpleGateway(
      [bad.url, good.url],
      {},
      {},
      {
        retries: {
          attempts: 1,
          backoff: { base: "1500ms", max: "1500ms" },
          budget: { ratio: 0.01, minRetries: 2 },
        },
      },
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const res = await request(`${gw.url}/x`);
          return `${res.statusCode} ${await res.body.text()}`;
        }),
      );
      assert.equal(bad.requests.length, 3, "round-robin sent half of them to the failing target");
      assert.deepEqual(answers, Array(6).fill("200 good"));
    } finally {
      await gw.stop();
      await bad.close();
      await good.close();
    }
  });

  it("keeps retries in flight within the budget when every target fails", async () => {
    const held: (() => void)[] = [];
    const up = await startUpstream((_req, res) => {
      held.push(() => res.writeHead(503).end());
    });
    const gw = await startSimpleGateway(
      [up.url],
      {},
      {},
      { retries: { attempts: 3, budget: { ratio: 0.2, minRetries: 3 } } },
    );
    try {
      const clients = 40;
      let answered = 0;
      const pending = Array.from({ length: clients }, () =>
        request(`${gw.url}/x`).then(async (res) => {
          await res.body.dump();
          answered++;
          return res.statusCode;
        }),
      );
      await until(() => up.requests.length === clients, "the first wave");
      // Fail the whole first wave at once: 40 requests want a retry, the budget allows 8.
      for (const fail of held.splice(0)) fail();
      await until(() => answered === clients - 8, "the requests the budget refused");
      await until(() => up.requests.length === clients + 8, "the retries the budget allowed");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(up.requests.length, clients + 8, "no retry beyond the budget");
      while (answered < clients) {
        for (const fail of held.splice(0)) fail();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok((await Promise.all(pending)).every((status) => status === 503));
    } finally {
      for (const fail of held) fail();
      await gw.stop();
      await up.close();
    }
  });
});
