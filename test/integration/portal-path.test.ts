// The developer portal's path is reserved however a request spells it: routing and the
// portal read the same normalised path, so a catch-all route never gets `/docs` through
// `/%64ocs` or `/x/../docs`, and the portal never swallows `/docs/../x`, which is `/x`; the
// setting takes only paths that normalising leaves as they are.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startSimpleGateway } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("developer portal path", () => {
  let up: Upstream;
  let gateway: RunningGateway;

  before(async () => {
    up = await startUpstream(echo);
    gateway = await startSimpleGateway([up.url], {}, { portal: { title: "Acme APIs" } });
  });
  after(async () => {
    await gateway?.stop();
    await up?.close();
  });

  /** The answer to `GET target`, sent verbatim (fetch would resolve the dots itself). */
  const get = (target: string) =>
    rawRequest(gateway.port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);

  it("serves the portal for every spelling of its path", async () => {
    for (const target of ["/docs", "/%64ocs", "/x/../docs", "/api/%2e%2e/docs/"]) {
      const answer = await get(target);
      assert.equal(answer.status, 200, target);
      assert.equal(answer.headers["content-type"], "text/html; charset=utf-8", target);
      assert.match(answer.body, /<h1>Acme APIs<\/h1>/, target);
    }
    for (const target of ["/docs/./openapi.json", "/%64ocs/openapi.json?x=1"]) {
      const answer = await get(target);
      assert.equal(answer.status, 200, target);
      assert.equal(JSON.parse(answer.body).info.title, "Acme APIs", target);
    }
  });

  it("leaves to routing what is not under its path once normalised", async () => {
    for (const [target, upstreamPath] of [
      ["/docs/../x", "/x"],
      ["/docs/%2e%2e/x", "/x"],
      ["/DOCS", "/DOCS"],
      ["/docs-v2", "/docs-v2"],
    ] as const) {
      const answer = await get(target);
      assert.equal(answer.status, 200, target);
      assert.equal(JSON.parse(answer.body).url, upstreamPath, target);
    }
  });
});

describe("developer portal path setting", () => {
  const problems = (path: string) =>
    configProblems(`gateway:
  listen: [{ host: 127.0.0.1, port: 8080 }]
  portal: { path: '${path}' }
`);

  it("takes paths that read the same before and after normalising", () => {
    for (const path of ["/docs", "/v1/api-docs", "/developers/portal_2.0", "/~dev"])
      assert.deepEqual(problems(path), [], path);
  });

  it("refuses one routing would read another way, or the page would have to escape", () => {
    for (const path of [
      '/docs"><script>alert(1)</script>',
      "/docs/../admin",
      "/docs/.",
      "/a%2Fb",
      "/DOC S",
      "/docs/",
      "/",
      "/a//b",
    ]) {
      const found = problems(path);
      assert.equal(found.length, 1, path);
      assert.match(found[0]!, /gateway\.portal\.path: expected a path like \/docs/, path);
    }
  });
});
