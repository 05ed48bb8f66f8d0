// The plugins of "Answers, the upstream and the response" in docs/plugins.md, run as
// printed (imports pointed at this checkout) in a gateway over real sockets: the first
// answers a ping itself, sends version 1 clients to the legacy service as an RPC, and
// replaces the upstream's 404 with its own; the second masks a word in response bodies
// and refuses one over its bound.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { request } from "undici";
import type { Gateway } from "../../src/gateway.ts";
import { createGateway } from "../../src/index.ts";
import type { PluginDefinition } from "../../src/pipeline/plugin.ts";
import { testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = await readFile(join(root, "docs/plugins.md"), "utf8");
const section = docs.slice(
  docs.indexOf("### Answers, the upstream and the response"),
  docs.indexOf("## Consumers"),
);
const examples = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);

/** Writes a doc example to `dir` with its imports pointed at this checkout, and loads it. */
async function load(dir: string, name: string, text: string): Promise<PluginDefinition> {
  const file = join(dir, name);
  await writeFile(
    file,
    text
      .replace(
        '"gatehouse-gateway"',
        JSON.stringify(pathToFileURL(join(root, "src/index.ts")).href),
      )
      .replace(
        '"zod"',
        JSON.stringify(pathToFileURL(join(root, "node_modules/zod/index.js")).href),
      ),
  );
  return ((await import(pathToFileURL(file).href)) as { default: PluginDefinition }).default;
}

/** The orders service: 404 for /orders/missing, else the echo. */
function orders(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === "/orders/missing") {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("nothing");
    return;
  }
  echo(req, res);
}

describe("docs/plugins.md: answers, the upstream and the response", () => {
  let dir: string;
  let current: Upstream;
  let legacy: Upstream;
  let gateway: Gateway;
  let base: string;

  before(async () => {
    assert.equal(examples.length, 2, "the section shows two plugins");
    dir = await mkdtemp(join(tmpdir(), "gatehouse-contract-docs-"));
    const legacyOrders = await load(dir, "legacy-orders.ts", examples[0]!);
    const maskSecrets = await load(dir, "mask-secrets.ts", examples[1]!);
    current = await startUpstream(orders);
    legacy = await startUpstream(echo);
    gateway = await createGateway(
      testConfig({
        services: [
          { name: "orders", targets: [{ url: current.url }] },
          { name: "orders-rpc", targets: [{ url: legacy.url }] },
        ],
        routes: [
          {
            name: "orders",
            match: { paths: ["/orders/*"] },
            service: "orders",
            plugins: [{ name: "legacy-orders", config: { legacyService: "orders-rpc" } }],
          },
          {
            name: "masked",
            match: { paths: ["/masked/*"] },
            service: "orders-rpc",
            plugins: [{ name: "mask-secrets", config: { word: "secret" } }],
          },
          {
            name: "masked-small",
            match: { paths: ["/small/*"] },
            service: "orders-rpc",
            plugins: [{ name: "mask-secrets", config: { word: "secret", maxSize: 20 } }],
          },
        ],
      }),
      { plugins: [legacyOrders, maskSecrets] },
    );
    base = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  });

  after(async () => {
    await gateway?.stop();
    await current?.close();
    await legacy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers the ping itself, as JSON", async () => {
    const res = await request(`${base}/orders/ping`);
    assert.equal(res.headers["content-type"], "application/json");
    assert.deepEqual(await res.body.json(), { pong: true });
    assert.equal(current.requests.length + legacy.requests.length, 0);
  });

  it("sends a version 1 client to the legacy service as an RPC", async () => {
    const res = await request(`${base}/orders/42`, { headers: { "x-api-version": "1" } });
    const seen = (await res.body.json()) as { method: string; url: string };
    assert.deepEqual([seen.method, seen.url], ["POST", "/rpc?op=%2Forders%2F42"]);
    assert.equal(legacy.requests.length, 1);
  });

  it("forwards other requests as the route says", async () => {
    const res = await request(`${base}/orders/42`);
    const seen = (await res.body.json()) as { method: string; url: string };
    assert.deepEqual([seen.method, seen.url], ["GET", "/orders/42"]);
  });

  it("masks the word in a response body, and refuses one over its bound with 502", async () => {
    const res = await request(`${base}/masked/my-secret-file`);
    const text = await res.body.text();
    assert.ok(text.includes("/masked/my-******-file"), text);
    assert.ok(!text.includes("secret"), text);
    const big = await request(`${base}/small/anything`);
    assert.equal(big.statusCode, 502);
    const body = (await big.body.json()) as { error: { code: string } };
    assert.equal(body.error.code, "GATEHOUSE_RESPONSE_TOO_LARGE");
  });

  it("replaces the upstream's 404 with its own", async () => {
    const res = await request(`${base}/orders/missing`);
    assert.equal(res.statusCode, 404);
    assert.deepEqual(await res.body.json(), { error: "no such order", path: "/orders/missing" });
  });
});
