// The shop's `web` service (examples/shop/services/web.ts) behind a real gateway: it
// registers itself, and the gateway serves the front end at / by registry discovery, with
// the `web` service and route exactly as examples/shop/gatehouse.yaml writes them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { type RunningWeb, startWeb } from "../../examples/shop/services/web.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";

const shopConfig = parse(
  readFileSync(new URL("../../examples/shop/gatehouse.yaml", import.meta.url), "utf8"),
) as { services: { name: string }[]; routes: { name: string; service: string }[] };

describe("the shop's web service through the gateway", () => {
  let gw: RunningGateway;
  let web: RunningWeb | undefined;
  before(async () => {
    const service = shopConfig.services.find((entry) => entry.name === "web");
    const route = shopConfig.routes.find((entry) => entry.service === "web");
    assert.ok(service && route, "gatehouse.yaml has a web service and a route to it");
    gw = await startGateway(
      testConfig({
        gateway: { admin: { host: "127.0.0.1", port: 0 }, registry: {} },
        // biome-ignore lint/suspicious/noExplicitAny: taken as written from the YAML file
        services: [service as any],
        // biome-ignore lint/suspicious/noExplicitAny: taken as written from the YAML file
        routes: [route as any],
      }),
    );
  });
  after(async () => {
    await web?.close();
    await gw?.stop();
  });

  it("answers 503 until web registers, then serves the page and its modules at /", async () => {
    assert.equal((await fetch(`${gw.url}/`)).status, 503);
    const registry = `http://127.0.0.1:${gw.gateway.addresses().registry!.port}`;
    web = await startWeb(
      { SHOP_WEB_PORT: "0", GATEHOUSE_REGISTRY: registry },
      { handleSignals: false },
    );
    await until(
      async () => (await fetch(`${gw.url}/`)).status === 200,
      "the page through the gateway",
    );

    const page = await fetch(`${gw.url}/`);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await page.text();
    assert.match(html, /<script type="module" src="app.js"><\/script>/);
    const script = await fetch(`${gw.url}/app.js`);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.match(await script.text(), /mountProducts/);
    // A revalidation goes through the gateway to the file server and back as a 304.
    const etag = script.headers.get("etag")!;
    const again = await fetch(`${gw.url}/app.js`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    // Only reads: the route takes GET and HEAD.
    assert.equal((await fetch(`${gw.url}/`, { method: "POST" })).status, 405);
  });

  it("is gone from the gateway once closed (deregistered)", async () => {
    await web!.close();
    web = undefined;
    await until(async () => (await fetch(`${gw.url}/`)).status === 503, "the route without web");
  });
});
