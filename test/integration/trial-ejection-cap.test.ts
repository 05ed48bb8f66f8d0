// maxEjectionPercent counts a target on trial whose one try is still out: it takes no
// traffic either. With two targets, one hung and on trial, a failure of the other must
// not eject it too (every request would fail until that ejection ended).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import type { TargetView } from "../../src/upstream/upstream-view.ts";
import { type RunningGateway, startSimpleGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

async function targetView(gw: RunningGateway, url: string): Promise<TargetView> {
  const res = await request(`${gw.statusUrl}/upstreams`);
  const body = (await res.body.json()) as { services: { targets: TargetView[] }[] };
  return body.services[0]!.targets.find((target) => target.url === url)!;
}

describe("the ejection cap with a target on trial", () => {
  it("a failure of the last target in rotation does not eject it", async () => {
    let resetNext = false;
    const hung = await startUpstream(() => {}); // accepts, never answers
    const b = await startUpstream((req, res) => {
      if (resetNext) {
        resetNext = false;
        req.socket.destroy();
      } else res.end("b");
    });
    const gw = await startSimpleGateway(
      [hung.url, b.url],
      {},
      { timeouts: { response: "2s" } },
      { healthCheck: { passive: { baseEjection: "100ms" } } },
    );
    const get = async () => {
      const res = await request(`${gw.url}/x`);
      return { status: res.statusCode, body: await res.body.text() };
    };
    try {
      // The hung target's first try times out (retried on b) and ejects it.
      assert.deepEqual(await Promise.all([get(), get()]), [
        { status: 200, body: "b" },
        { status: 200, body: "b" },
      ]);
      assert.equal((await targetView(gw, hung.url)).ejections, 1);
      // Its ejection over, its trial try goes out and hangs (2s): b alone takes traffic.
      const sent: Promise<unknown>[] = [];
      await until(
        async () => {
          sent.push(get());
          // A request b answers is back within a few ms; the trial stays out.
          await until(() => hung.requests.length === 2, "", 50).catch(() => {});
          return hung.requests.length === 2;
        },
        "the hung target's trial try",
        5_000,
      );
      // b fails once: a broken connection, retried on b itself, the only target in rotation.
      resetNext = true;
      assert.deepEqual(await get(), { status: 200, body: "b" });
      assert.equal((await targetView(gw, b.url)).ejected, false);
      assert.deepEqual(await get(), { status: 200, body: "b" });
      await Promise.all(sent);
    } finally {
      await gw.stop();
      await hung.close();
      await b.close();
    }
  });
});
