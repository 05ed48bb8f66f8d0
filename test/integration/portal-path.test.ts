// The developer portal's path is reserved however a request spells it: routing and the
// portal read the same normalised path, so a catch-all route never gets `/docs` through
// `/%64ocs` or `/x/../docs`, and the portal never swallows `/docs/../x`, which is `/x`.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
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
