// CORS judged by the party that enforces it: a real headless Chromium on another origin
// calls the gateway with fetch. Simple and preflighted requests, credentials, exposed
// headers and plugin answers work; a foreign origin and a method the route's cors leaves
// out are blocked by the browser; no preflight ever reaches the upstream.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BrowserPage, startBrowserPage } from "../helpers/browser.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("cors in a real browser", () => {
  let browser: BrowserPage;
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    browser = await startBrowserPage();
    up = await startUpstream(echo);
    const cors = {
      origins: [browser.origin],
      exposeHeaders: ["x-request-id"],
      credentials: true,
    };
    gw = await startGateway(
      testConfig({
        consumers: [{ name: "alice", credentials: { keys: ["alice-browser-key"] } }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "svc",
            plugins: [{ name: "cors", config: cors }],
          },
          {
            name: "secure",
            match: { paths: ["/secure/*"] },
            service: "svc",
            plugins: [{ name: "cors", config: cors }, { name: "key-auth" }],
          },
          {
            name: "narrow",
            match: { paths: ["/narrow/*"] },
            service: "svc",
            plugins: [{ name: "cors", config: { origins: [browser.origin], methods: ["GET"] } }],
          },
          {
            name: "elsewhere",
            match: { paths: ["/elsewhere/*"] },
            service: "svc",
            plugins: [{ name: "cors", config: { origins: ["https://elsewhere.example"] } }],
          },
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
    await browser?.close();
  });

  it("lets the page read what the route allows, and blocks what it does not", async () => {
    const report = await browser.run(`
      const gw = ${JSON.stringify(gw.url)};
      const blocked = (request) => request.then(() => "allowed", () => "blocked");
      const simple = await fetch(gw + "/api/simple");
      const preflighted = await fetch(gw + "/secure/put", {
        method: "PUT",
        headers: { "content-type": "application/json", "x-api-key": "alice-browser-key" },
        body: JSON.stringify({ a: 1 }),
      });
      const unauthorized = await fetch(gw + "/secure/put", {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      const withCookies = await fetch(gw + "/api/cookies", { credentials: "include" });
      return {
        simple: [simple.status, (await simple.json()).method, simple.headers.get("x-request-id") !== null],
        preflighted: [preflighted.status, (await preflighted.json()).method],
        unauthorized: [unauthorized.status, (await unauthorized.json()).error.code],
        withCookies: withCookies.status,
        foreignOrigin: await blocked(fetch(gw + "/elsewhere/x")),
        methodLeftOut: await blocked(fetch(gw + "/narrow/x", { method: "DELETE" })),
        methodAllowed: await blocked(fetch(gw + "/narrow/x")),
      };
    `);
    assert.deepEqual(report, {
      value: {
        simple: [200, "GET", true],
        preflighted: [200, "PUT"],
        unauthorized: [401, "GATEHOUSE_UNAUTHORIZED"],
        withCookies: 200,
        foreignOrigin: "blocked",
        methodLeftOut: "blocked",
        methodAllowed: "allowed",
      },
    });
    const methods = up.requests.map((req) => req.method);
    assert.ok(!methods.includes("OPTIONS"), "preflights are answered by the gateway");
    assert.ok(!methods.includes("DELETE"), "the browser never sent the blocked DELETE");
  });
});
