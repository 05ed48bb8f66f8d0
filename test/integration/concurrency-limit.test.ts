// concurrency-limit over real sockets: the request over the limit is refused at once with
// 429, and slots come back when responses finish or clients go away.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

describe("concurrency-limit", () => {
  it("refuses the request over the limit with 429 and frees slots as requests end", async () => {
    const waiting: (() => void)[] = [];
    const up = await startUpstream((_req, res) => {
      waiting.push(() => res.end("done"));
    });
    const gw = await startGateway(
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/*"] },
            service: "svc",
            plugins: [{ name: "concurrency-limit", config: { limit: 2 } }],
          },
        ],
      }),
    );
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(condition());
    };
    try {
      const first = request(`${gw.url}/a`);
      const aborter = new AbortController();
      const second = request(`${gw.url}/b`, { signal: aborter.signal }).catch(() => "aborted");
      await until(() => waiting.length === 2);
      const third = await request(`${gw.url}/c`);
      assert.equal(third.statusCode, 429);
      assert.equal(third.headers["retry-after"], "1");
      assert.equal(
        ((await third.body.json()) as { error: { code: string } }).error.code,
        "GATEHOUSE_CONCURRENCY_LIMITED",
      );

      aborter.abort(); // the client of the second request goes away: its slot comes back
      assert.equal(await second, "aborted");
      // The gateway learns of the hang-up a moment later: until then /d is refused at once;
      // then it is admitted, and waits at the upstream like the first.
      let admitted: ReturnType<typeof request> | undefined;
      for (let i = 0; i < 100 && !admitted; i++) {
        const attempt = request(`${gw.url}/d`);
        const outcome = await Promise.race([
          attempt,
          new Promise<"waiting">((resolve) => setTimeout(() => resolve("waiting"), 50)),
        ]);
        if (outcome === "waiting") admitted = attempt;
        else {
          assert.equal(outcome.statusCode, 429);
          await outcome.body.dump();
        }
      }
      assert.ok(admitted, "a slot came back after the client went away");
      await until(() => waiting.length === 3);
      for (const finish of waiting.splice(0)) finish();
      assert.equal(await (await first).body.text(), "done");
      assert.equal(await (await admitted).body.text(), "done");
    } finally {
      for (const finish of waiting) finish();
      await gw.stop();
      await up.close();
    }
  });
});
