// docs/deploy.md's Docker Compose walk-through, run without Docker: two `gatehouse start`
// nodes on deploy/compose/gatehouse.yaml (with a private etcd and Redis, and the demo
// services, on loopback ports), the doc's admin API call sent as printed to node 1, and
// the doc's requests to the new route answered by every node.
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { startDemoService } from "../../examples/demo/service.ts";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { type GatehouseNode, startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";
import { until } from "../helpers/until.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The shell commands of the compose section's "Try it" block, continuation lines joined. */
async function tryItCommands(): Promise<string[]> {
  const docs = await readFile(join(root, "docs/deploy.md"), "utf8");
  const section = docs.slice(docs.indexOf("## Docker Compose"), docs.indexOf("## Kubernetes"));
  const block = /Try it:\n\n```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "docs/deploy.md has a Try it block under Docker Compose");
  return block.replace(/\\\n\s*/g, "").split("\n");
}

/** A `curl` command line's URL, method, headers and body (`$GATEHOUSE_ADMIN_KEY` filled in). */
function parseCurl(line: string, adminKey: string) {
  const filled = line.replaceAll("$GATEHOUSE_ADMIN_KEY", adminKey);
  const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[^\s;'"]*)/.exec(filled);
  assert.ok(url, `a URL in: ${line}`);
  const headers: Record<string, string> = {};
  for (const [, , header] of filled.matchAll(/-H (['"])(.*?)\1/g)) {
    const at = header!.indexOf(":");
    headers[header!.slice(0, at).toLowerCase()] = header!.slice(at + 1).trim();
  }
  return {
    port: Number(url[1]),
    path: url[2]!,
    method: /-X (\w+)/.exec(filled)?.[1] ?? "GET",
    headers,
    body: /-d '([^']*)'/.exec(filled)?.[1],
  };
}

describe("docs/deploy.md: Docker Compose", () => {
  const adminKey = "compose-admin-key-0123456789abcdef";
  const nodes: GatehouseNode[] = [];
  let etcd: EtcdServer;
  let redis: RedisServer;
  const demos: Awaited<ReturnType<typeof startDemoService>>[] = [];

  before(async () => {
    etcd = await startEtcdServer();
    redis = await startRedisServer();
    demos.push(await startDemoService("users", 0, [{ id: 1, name: "Ada" }]));
    demos.push(await startDemoService("products", 0, [{ id: 1, name: "Keyboard" }]));
    const [users, products] = demos;
    // The compose file's own config, its container addresses swapped for loopback ones.
    let text = await readFile(join(root, "deploy/compose/gatehouse.yaml"), "utf8");
    const swaps: [string | RegExp, string][] = [
      [/host: 0\.0\.0\.0, port: \d+/g, "host: 127.0.0.1, port: 0"],
      [/host: 0\.0\.0\.0\n(\s+)port: \d+/g, "host: 127.0.0.1\n$1port: 0"],
      ["workers: auto", "workers: 1"], // two nodes of one thread each: CPU is shared here
      ["http://etcd:2379", etcd.url],
      ["redis://redis:6379", redis.url],
      ["http://users:9001", `http://127.0.0.1:${users!.port}`],
      ["http://products:9002", `http://127.0.0.1:${products!.port}`],
    ];
    for (const [from, to] of swaps) {
      const swapped = text.replace(from, to);
      assert.notEqual(swapped, text, `deploy/compose/gatehouse.yaml has ${from}`);
      text = swapped;
    }
    const file = join(await mkdtemp(join(tmpdir(), "gatehouse-compose-")), "gatehouse.yaml");
    await writeFile(file, text);
    process.env.GATEHOUSE_ADMIN_KEY = adminKey; // the nodes inherit it, as compose passes it
    // The first node seeds etcd; the others start once it is up, as compose orders them.
    nodes.push(await startGatehouseNode(file));
    nodes.push(await startGatehouseNode(file));
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    for (const demo of demos) await new Promise((resolve) => demo.server.close(resolve));
    await redis?.stop();
    await etcd?.remove();
  });

  it("serves the demo services, and one rate-limit count holds across the nodes", async () => {
    const commands = await tryItCommands();
    const users = parseCurl(
      commands.find((line) => line.startsWith("curl") && !line.includes("-X"))!,
      "",
    );
    const answer = await request(`${nodes[0]!.url}${users.path}`);
    assert.equal(answer.statusCode, 200, users.path);
    assert.deepEqual(await answer.body.json(), { users: [{ id: 1, name: "Ada" }] });

    const loop = commands.findIndex((line) => /^for i in \$\(seq \d+\)/.test(line));
    const count = Number(/seq (\d+)/.exec(commands[loop]!)![1]);
    const admitted = Number(/^# (\d+) × 200, then 429/.exec(commands[loop + 1]!)?.[1]);
    const products = parseCurl(commands[loop]!, "");
    const statuses: number[] = [];
    // Alternately to each node, as the front spreads them.
    for (let i = 0; i < count; i++)
      statuses.push(await nodes[i % nodes.length]!.get(products.path));
    assert.deepEqual(statuses, [
      ...Array(admitted).fill(200),
      ...Array(count - admitted).fill(429),
    ]);
  });

  it("a route added through node 1's admin API, as printed, is served by every node", async () => {
    const commands = await tryItCommands();
    const post = commands.find((line) => line.includes("curl") && line.includes("-X POST"));
    assert.ok(post, "the doc adds a route through the admin API");
    const change = parseCurl(post, adminKey);
    assert.equal(change.port, 9902, "sent to node 1's admin API");
    const res = await request(`${nodes[0]!.adminUrl}${change.path}`, {
      method: change.method as "POST",
      headers: change.headers,
      body: change.body ?? null,
    });
    assert.equal(res.statusCode, 201, await res.body.text());

    // The requests that follow it, as the doc sends them to the front (nginx, on 8080).
    const after = commands.slice(commands.indexOf(post));
    const route = parseCurl(after.find((line) => line.startsWith("for "))!, adminKey);
    assert.equal(route.port, 8080, "asked of the front, which spreads over the nodes");
    for (const node of nodes) {
      const get = async () => {
        const answer = await request(`${node.url}${route.path}`);
        return { status: answer.statusCode, body: (await answer.body.json()) as object };
      };
      // Node 2 applies the change from its etcd watch, a few milliseconds later.
      const noRoute = (body: object) => JSON.stringify(body).includes("GATEHOUSE_ROUTE_NOT_FOUND");
      await until(async () => !noRoute((await get()).body), `${route.path} routed by ${node.url}`);
      assert.deepEqual(await get(), {
        status: 200,
        body: { products: [{ id: 1, name: "Keyboard" }] },
      });
    }
  });
});
