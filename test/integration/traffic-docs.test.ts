// docs/traffic.md, as printed: the checkout example's versions, deprecation, split, sticky
// cookie and mirror; the path-versioned example; the 404 and the config error it shows.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { ConfigError, formatProblem } from "../../src/config/load.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { type RunningGateway, startGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const doc = await readFile(new URL("../../docs/traffic.md", import.meta.url), "utf8");
const [example, byPath] = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const notFound = JSON.parse(/```json\n([\s\S]*?)```/.exec(doc)![1]!);
const errorLine = /```\n(gatehouse\.yaml:\d+:\d+ [^\n]+)\n```/.exec(doc)![1]!;

describe("docs/traffic.md", () => {
  const names = ["checkout-v1", "checkout", "checkout-v2", "checkout-beta", "checkout-shadow"];
  const upstreams: Upstream[] = [];
  const gateways: RunningGateway[] = [];
  before(async () => {
    for (const name of names)
      upstreams.push(await startUpstream((req, res) => res.end(`${name} ${req.url}`)));
  });
  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  });

  /** The doc's config with the upstreams' ports and a free listener port, started. */
  async function start(text: string): Promise<RunningGateway> {
    const local = text
      .replace("port: 8080", "port: 0")
      .replace(/127\.0\.0\.1:900(\d)/g, (_, n) => `127.0.0.1:${upstreams[Number(n) - 1]!.port}`)
      .replace(
        "gateway:\n",
        "gateway:\n  accessLog: { enabled: false }\n  log: { level: silent }\n",
      );
    const gateway = await startGateway(local);
    gateways.push(gateway);
    return gateway;
  }

  async function get(gateway: RunningGateway, path: string, headers: Record<string, string> = {}) {
    const answer = await request(`${gateway.url}${path}`, { headers });
    return { status: answer.statusCode, headers: answer.headers, text: await answer.body.text() };
  }

  it("serves the checkout example as it says", async () => {
    const gateway = await start(example!);
    const v1 = await get(gateway, "/checkout/cart", { "api-version": "1" });
    assert.equal(v1.text, "checkout-v1 /checkout/cart");
    assert.equal(v1.headers.deprecation, "@0");
    assert.equal(v1.headers.sunset, "Wed, 30 Jun 2027 00:00:00 GMT");
    assert.equal((await get(gateway, "/checkout/cart")).text, "checkout-v1 /checkout/cart");

    const v2 = { "api-version": "2" };
    assert.equal(
      (await get(gateway, "/checkout/a", { ...v2, "x-beta": "1" })).text,
      "checkout-beta /checkout/a",
    );
    const first = await get(gateway, "/checkout/a", v2);
    assert.match(
      String(first.headers["set-cookie"]),
      /^gatehouse_split_checkout=\d+; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/,
    );
    const canary = { ...v2, cookie: "gatehouse_split_checkout=5" };
    assert.equal((await get(gateway, "/checkout/a", canary)).text, "checkout-v2 /checkout/a");
    const stable = { ...v2, cookie: "gatehouse_split_checkout=5000" };
    assert.equal((await get(gateway, "/checkout/a", stable)).text, "checkout /checkout/a");

    // A tenth of version 2's requests are copied to the shadow.
    for (let i = 0; i < 100; i++) await get(gateway, "/checkout/copied", stable);
    await until(() => upstreams[4]!.requests.length > 0, "a copy at the shadow");

    const unknown = await get(gateway, "/checkout/a", { "api-version": "3" });
    assert.equal(unknown.status, 404);
    const { error } = JSON.parse(unknown.text);
    assert.deepEqual({ ...error, requestId: "…" }, notFound.error);
  });

  it("serves the path-versioned example, the version segment removed", async () => {
    const gateway = await start(byPath!);
    assert.equal((await get(gateway, "/v2/checkout/a")).text, "checkout /checkout/a");
    assert.equal((await get(gateway, "/v1/checkout/a")).text, "checkout-v1 /checkout/a");
    assert.equal((await get(gateway, "/checkout/a")).text, "checkout-v1 /checkout/a");
  });

  it("refuses weights past 100 with the error line it shows", () => {
    const bad = example!.replace('match: { headers: { x-beta: "1" } }', "weight: 100");
    const problems = (() => {
      try {
        parseGatewayConfig(bad, "gatehouse.yaml", {});
        return [];
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return error.problems.map(formatProblem);
      }
    })();
    assert.deepEqual(problems, [errorLine]);
  });
});
