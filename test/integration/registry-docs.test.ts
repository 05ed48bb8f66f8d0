// docs/registry.md, as printed: its config validates and starts; the documented
// registration body registers an instance that the documented service filters take and
// the gateway routes to; every JSON shape the page shows (lease, list, service, watch
// events, /status block) has exactly the keys the API answers with; the metrics it lists
// exist. The etcd store's example starts on a real etcd, where a lease is whole seconds,
// and is refused at its store line without a connection. And load-balancing.md's
// zone-aware example validates.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { Gateway } from "../../src/gateway.ts";
import { parseGatewayConfig, validateConfigFile } from "../../src/runtime/validate.ts";
import { freePort } from "../helpers/child-process.ts";
import { configProblems } from "../helpers/config-problems.ts";
import { startEtcdServer } from "../helpers/etcd-server.ts";
import { registryClient, watchService } from "../helpers/registry.ts";
import { startUpstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = await readFile(join(root, "docs/registry.md"), "utf8");
const blocks = (lang: string) =>
  [...doc.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]!);
const [configText, etcdText] = blocks("yaml");
const [registration, lease, list, service, status] = blocks("json").map((text) => JSON.parse(text));
const [stream] = blocks("text");
const keys = (value: object) => Object.keys(value).sort();
const registryKey = "orders-registry-key-from-the-docs";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("docs/registry.md", () => {
  it("runs as written: register, route, read, heartbeat, watch, count", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-registry-docs-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const up = await startUpstream((req, res) => res.end(`orders ${req.url}`));
    cleanups.push(() => up.close());
    const [proxy, admin, registryPort, statusPort] = await Promise.all(
      Array.from({ length: 4 }, freePort),
    );
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      configText!
        .replace("port: 8080", `port: ${proxy}`)
        .replace("port: 9902", `port: ${admin}`)
        .replace("{ host: 0.0.0.0, port: 8080 }", "{ host: 127.0.0.1, port: 0 }")
        .replace("port: 9903", `port: ${registryPort}`)
        .replaceAll("host: 0.0.0.0", "host: 127.0.0.1")
        .replace(
          "gateway:\n",
          `gateway:\n  accessLog: { enabled: false }\n  log: { level: silent }\n  status: { port: ${statusPort} }\n`,
        ),
    );
    const config = await validateConfigFile(file, { ORDERS_REGISTRY_KEY: registryKey });
    const gateway = new Gateway(config);
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const base = `http://127.0.0.1:${registryPort}`;
    const registry = registryClient(base, registryKey);
    const watch = await watchService(base, "orders", registryKey);
    cleanups.push(async () => watch.close());
    await watch.next("snapshot");

    const body = { ...registration, address: "127.0.0.1", port: up.port, ttl: "1s" };
    const put = await registry.put("orders", "orders-7f9c", body);
    assert.equal(put.status, 201);
    assert.deepEqual(keys(put.body), keys(lease));
    const routed = await request(`http://127.0.0.1:${proxy}/orders/42`);
    assert.equal(await routed.body.text(), "orders /orders/42", "the documented filters take it");

    assert.deepEqual(keys((await registry.get("/registry/services")).body), keys(list));
    assert.deepEqual(
      keys((await registry.get("/registry/services")).body.services[0]),
      keys(list.services[0]),
    );
    const read = await registry.get("/registry/services/orders");
    assert.deepEqual(keys(read.body), keys(service));
    assert.deepEqual(keys(read.body.instances[0]), keys(service.instances[0]));
    assert.equal((await registry.heartbeat("orders", "orders-7f9c")).status, 200);

    // The watch events the page shows, in its order, with the same fields.
    const shown = [...stream!.matchAll(/^event: (\w+)\nid: \d+\ndata: (.*)$/gm)].map((m) => ({
      event: m[1]!,
      data: JSON.parse(m[2]!),
    }));
    assert.deepEqual(
      shown.map((event) => event.event),
      ["snapshot", "put", "down", "delete"],
    );
    const put2 = await watch.next("put");
    assert.deepEqual(keys(put2.data), keys(shown[1]!.data));
    const down = await watch.next("down", 4000);
    assert.deepEqual(keys(down.data), keys(shown[2]!.data));
    await registry.put("orders", "orders-7f9c", body);
    await watch.next("put");
    await registry.remove("orders", "orders-7f9c");
    const deleted = await watch.next("delete");
    assert.deepEqual(keys(deleted.data), keys(shown[3]!.data));

    const served = (await (await request(`http://127.0.0.1:${statusPort}/status`)).body.json()) as {
      registry: object;
    };
    assert.deepEqual(keys(served.registry), keys(status.registry));
    const metrics = await (await request(`http://127.0.0.1:${statusPort}/metrics`)).body.text();
    for (const [, name] of doc.matchAll(/^\| `(gatehouse_registry_\w+)` \|/gm))
      assert.match(metrics, new RegExp(`^# TYPE ${name} `, "m"), name);
  });

  it("the etcd store's example: starts on a real etcd, leases in whole seconds", async () => {
    assert.match(etcdText!, /store: etcd/);
    const etcd = await startEtcdServer();
    cleanups.push(() => etcd.remove());
    const admin = await freePort();
    const config = parseGatewayConfig(
      etcdText!
        .replace("http://10.0.0.5:2379", etcd.url)
        .replace("port: 9902", `port: ${admin}`)
        .replace("{ host: 0.0.0.0, port: 8080 }", "{ host: 127.0.0.1, port: 0 }")
        .replace(
          "gateway:\n",
          "gateway:\n  accessLog: { enabled: false }\n  log: { level: silent }\n",
        ),
      "registry.md",
      {},
    );
    const gateway = new Gateway(config);
    await gateway.start();
    cleanups.push(() => gateway.stop());
    const registry = registryClient(`http://127.0.0.1:${admin}`);
    const put = await registry.put("orders", "o1", {
      address: "127.0.0.1",
      port: 9003,
      ttl: "2500ms",
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal(put.body.ttl, "3s", "etcd granted whole seconds");
    assert.equal(put.body.ttlMs, 3000);
    const problems = configProblems(etcdText!.replace(/^ {4}etcd: .*\n/m, ""));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(
      problems[0]!,
      /^gw\.yaml:5:\d+ gateway\.registry\.store: the etcd registry store needs/,
    );
  });

  it("load-balancing.md's zone-aware example validates", async () => {
    const page = await readFile(join(root, "docs/load-balancing.md"), "utf8");
    const section = page.slice(page.indexOf("## Zone-aware balancing"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const config = parseGatewayConfig(yaml, "load-balancing.md", {});
    assert.equal(config.gateway.zone, "eu-west-1a");
    assert.equal(config.services[0]!.loadBalancer.zoneAware, true);
  });
});
