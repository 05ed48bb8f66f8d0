// The cache examples of the docs, run: docs/plugins.md's `### cache` config with its
// requests (each line's X-Cache-Status as printed), its Redis config against a real
// redis-server, and docs/admin-api.md's purge by tag with the answer it shows.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { parse } from "yaml";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const docs = (name: string) => readFile(new URL(`../../docs/${name}`, import.meta.url), "utf8");
const plugins = await docs("plugins.md");
const section = plugins.slice(plugins.indexOf("### cache"));
const adminApi = await docs("admin-api.md");
const purgeSection = adminApi.slice(
  adminApi.indexOf("## Cache purge"),
  adminApi.indexOf("## Error codes"),
);

function blocks(text: string, language: string): string[] {
  const fence = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g");
  return [...text.matchAll(fence)].map((match) => match[1]!);
}

const agent = new Agent({ keepAliveTimeout: 1000 });

describe("docs: the cache plugin and its purge", () => {
  let up: Upstream;
  const started: RunningGateway[] = [];
  let redis: RedisServer | undefined;

  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(200, { "cache-control": "max-age=60", "cache-tag": "products" });
      res.end(`answer to ${req.method} ${req.url}`);
    });
  });
  after(async () => {
    for (const gateway of started) await gateway.stop();
    await up?.close();
    await redis?.stop();
    await agent.close();
  });

  /** A doc config with its listener on a free port and its upstream the test's. */
  async function run(text: string, extra: Record<string, unknown> = {}): Promise<RunningGateway> {
    const config = parse(text.replace("http://127.0.0.1:9001", up.url));
    const services = config.services ?? [{ name: "catalog", targets: [{ url: up.url }] }];
    const { listen: _, ...gateway } = config.gateway ?? {};
    const gw = await startGateway(
      testConfig({ ...config, services, gateway: { ...gateway, ...extra } }),
    );
    started.push(gw);
    return gw;
  }

  it("plugins.md: the config loads and each request's X-Cache-Status is as printed", async () => {
    const config = blocks(section, "yaml")[0]!;
    assert.match(config, /^# cache\.yaml/);
    const gw = await run(config);
    const lines = blocks(section, "sh")[0]!.trim().split("\n");
    assert.ok(lines.length >= 3);
    for (const line of lines) {
      const shown =
        /curl -si (?:-X (\w+) )?'http:\/\/127\.0\.0\.1:8080([^']*)'\s+# X-Cache-Status: (\w+)/.exec(
          line,
        );
      assert.ok(shown, `a request and its status: ${line}`);
      const [, method = "GET", path, status] = shown;
      const res = await request(`${gw.url}${path}`, { method, dispatcher: agent });
      await res.body.dump();
      assert.equal(res.headers["x-cache-status"], status, line);
    }
  });

  it("plugins.md: the Redis config shares entries through a real Redis", async () => {
    redis = await startRedisServer();
    const config = blocks(section, "yaml")[1]!.replace("redis://127.0.0.1:6379", redis.url);
    assert.match(config, /store: redis/);
    const gw = await run(config);
    const statuses: unknown[] = [];
    for (let i = 0; i < 20 && statuses.at(-1) !== "HIT"; i++) {
      const res = await request(`${gw.url}/products/7?x=1`, { dispatcher: agent });
      await res.body.dump();
      statuses.push(res.headers["x-cache-status"]);
    }
    assert.equal(statuses[0], "MISS");
    assert.equal(statuses.at(-1), "HIT");
  });

  it("admin-api.md: the purge by tag answers as shown", async () => {
    const console = blocks(purgeSection, "console")[0]!;
    const [command, ...answer] = console.split("\n");
    const path = /'http:\/\/127\.0\.0\.1:9902([^']*)'/.exec(command!)![1]!;
    const gw = await run(blocks(section, "yaml")[0]!, { admin: { host: "127.0.0.1", port: 0 } });
    for (const page of ["/products?page=1", "/products?page=2"]) {
      const res = await request(`${gw.url}${page}`, { dispatcher: agent });
      await res.body.dump();
    }
    const admin = gw.gateway.addresses().admin!;
    const res = await request(`http://127.0.0.1:${admin.port}${path}`, {
      method: "DELETE",
      dispatcher: agent,
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), JSON.parse(answer.join("\n")));
    const after = await request(`${gw.url}/products?page=1`, { dispatcher: agent });
    await after.body.dump();
    assert.equal(after.headers["x-cache-status"], "MISS");
  });
});
