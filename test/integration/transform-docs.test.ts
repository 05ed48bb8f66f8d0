// The examples of docs/plugins.md's request-transformer, response-transformer and mock
// sections, run as printed against real upstreams: each YAML block is loaded as the config's
// plugins or routes, and the requests the prose describes get the answers it states.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { parse } from "yaml";
import { freePort } from "../helpers/child-process.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = await readFile(join(root, "docs/plugins.md"), "utf8");

/** The text of the `### name` section. */
function section(name: string): string {
  const start = docs.indexOf(`### ${name}\n`);
  assert.ok(start !== -1, `docs/plugins.md has a ${name} section`);
  const end = docs.indexOf("\n### ", start + 4);
  return docs.slice(start, end === -1 ? undefined : end);
}

function yamlBlocks(text: string): Record<string, unknown>[] {
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!));
}

/** The first capture of `pattern` in `text`, which the doc must contain. */
function stated(text: string, pattern: RegExp): string {
  const found = pattern.exec(text);
  assert.ok(found, `the doc states ${pattern}`);
  return found[1]!;
}

/** Reports what it received; answers /profiles/* as the response-transformer prose says. */
function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    if (req.url?.startsWith("/profiles/")) {
      res.writeHead(404, { "content-type": "application/json", "x-powered-by": "php" });
      res.end(profileBody);
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      }),
    );
  });
}

const response = section("response-transformer");
const profileBody = stated(response, /An upstream answer `404` with `(\{.*?\})`/);

describe("docs/plugins.md: request-transformer, response-transformer and mock examples", () => {
  let up: Upstream;
  let nobody: string;
  const gateways: RunningGateway[] = [];

  before(async () => {
    up = await startUpstream(upstreamHandler);
    nobody = `http://127.0.0.1:${await freePort()}`;
  });
  after(async () => {
    for (const gw of gateways) await gw.stop();
    await up?.close();
  });

  /** A gateway with the block's routes (or global plugins), every service the upstream at `url`. */
  async function start(block: Record<string, unknown>, url = up.url, consumers: unknown[] = []) {
    const routes = (block.routes as { service: string }[] | undefined) ?? [
      { name: "all", match: { paths: ["/*"] }, service: "svc" },
    ];
    const services = [...new Set(routes.map((route) => route.service))].map((name) => ({
      name,
      targets: [{ url }],
    }));
    const config = { services, routes, consumers, plugins: (block.plugins as never) ?? [] };
    const gw = await startGateway(testConfig(config as never));
    gateways.push(gw);
    return gw;
  }

  const requestSection = section("request-transformer");
  const [smallest, orders, signup] = yamlBlocks(requestSection);

  it("request-transformer: the smallest use sets x-team", async () => {
    const gw = await start(smallest!);
    const seen = (await (await request(`${gw.url}/anything`)).body.json()) as {
      headers: Record<string, string>;
    };
    assert.equal(seen.headers["x-team"], "payments");
  });

  it("request-transformer: the orders route sends what the prose says", async () => {
    const gw = await start(orders!, up.url, [
      { name: "alice", credentials: { keys: ["alice-key-123"] } },
    ]);
    const asked = stated(requestSection, /`(GET \/orders\/\S+)` by the consumer `alice`/).split(
      " ",
    )[1]!;
    const res = await request(gw.url + asked, {
      headers: { "x-api-key": "alice-key-123", "x-debug": "1", "x-legacy-tenant": "acme" },
    });
    const seen = (await res.body.json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
    };
    assert.equal(
      `${seen.method} ${seen.url}`,
      stated(requestSection, /reaches the upstream as `(POST \S+)`/),
    );
    const listed = stated(requestSection, /lookup\?\S+`\nwith (.*?), without/s);
    const headers = [...listed.matchAll(/`([\w-]+): ([^`]+)`/g)];
    assert.equal(headers.length, 5, listed);
    for (const [, name, value] of headers) assert.equal(seen.headers[name!], value, name);
    assert.equal(seen.headers["x-debug"], undefined);
    assert.equal(seen.headers["x-legacy-tenant"], undefined);
  });

  it("request-transformer: the signup body is edited as the prose says", async () => {
    const gw = await start(signup!);
    const sent = stated(requestSection, /^`(\{"email".*?\})` reaches/m);
    const res = await request(`${gw.url}/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: sent,
    });
    const seen = (await res.body.json()) as { body: string };
    const expected = stated(requestSection, /reaches the upstream as\n`(\{.*?\})`\./);
    assert.equal(seen.body, expected.replace('"…"', '"127.0.0.1"'));
  });

  it("response-transformer: the profiles answer reaches the client as the prose says", async () => {
    const gw = await start(yamlBlocks(response)[0]!);
    const res = await request(`${gw.url}/profiles/ann`);
    const expected = stated(response, /reaches the client as\n`(\d+)` with `(?:\{.*?\})`/);
    assert.equal(String(res.statusCode), expected);
    assert.equal(
      await res.body.text(),
      stated(response, /reaches the client as\n`\d+` with `(\{.*?\})`/),
    );
    assert.equal(res.headers["cache-control"], "no-store");
    assert.equal(res.headers["x-powered-by"], undefined);
    assert.equal(res.headers["x-request"], res.headers["x-request-id"]);
  });

  it("mock: both routes answer as the prose says, with no reachable target", async () => {
    const mock = section("mock");
    const gw = await start(yamlBlocks(mock)[0]!, nobody);
    const orders = await request(`${gw.url}/orders/1`);
    assert.equal(String(orders.statusCode), stated(mock, /`GET \/orders\/1` gets `(\d+)`/));
    assert.equal(orders.headers["content-type"], "application/json");
    assert.equal(orders.headers["retry-after"], "3600");
    assert.deepEqual(
      await orders.body.json(),
      JSON.parse(stated(mock, /gets `\d+` with `(\{.*?\})`/)),
    );
    const started = Date.now();
    const invoice = await request(`${gw.url}/invoices/7`);
    assert.equal(
      await invoice.body.text(),
      stated(mock, /`GET \/invoices\/7` gets `200` `([^`]+)`/),
    );
    assert.match(String(invoice.headers["content-type"]), /^text\/plain/);
    assert.ok(Date.now() - started >= 190);
  });
});
