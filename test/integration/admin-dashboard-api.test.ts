// The admin API's endpoints for a dashboard, against real gateways started from real config
// files with a real upstream: the config's JSON Schema, the dry run of a config (problems
// at their line and column, the diff, nothing applied), the audit trail and its filters,
// the rolling request stats (moved by traffic the test sends, refusals counted, summed over
// worker threads) and their stream (needs the key, sends updates, ends on stop).
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { configJsonSchema } from "../../src/config/json-schema.ts";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";

const ops = "ops-key-0123456789abcdef";
const viewer = "viewer-key-0123456789abcdef";
const asOps = { authorization: `Bearer ${ops}` };
const asViewer = { "x-admin-key": viewer };
const yaml = { "content-type": "application/yaml" };
const docs = new URL("../../docs/admin-api.md", import.meta.url);

/** The JSON a console example of docs/admin-api.md shows after the line ending in `command`. */
function shownAfter(text: string, command: string): unknown {
  const start = text.indexOf(`${command}\n`) + command.length + 1;
  return JSON.parse(text.slice(start, text.indexOf("\n```", start)));
}

/** Keys all the way down (arrays by their first item): what a documented answer must have. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (value === null || typeof value !== "object") return "value";
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, shape((value as Record<string, unknown>)[key])]),
  );
}

function config(upstream: number, dir: string, extra = ""): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    `  admin: { port: 0, keys: [{ id: ops, key: "${ops}" }, { id: viewer, key: "${viewer}", readOnly: true }] }`,
    "  shutdownTimeout: 200ms",
    "  reload: { watch: false }",
    "  log: { level: silent }",
    "  accessLog: { enabled: false }",
    "  configStore: { file: false }",
    `  audit: { path: ${JSON.stringify(join(dir, "audit.jsonl"))} }`,
    extra,
    `services: [{ name: app, targets: [{ url: "http://127.0.0.1:${upstream}" }] }]`,
    "routes:",
    '  - { name: ok, match: { paths: ["/ok"] }, service: app }',
    '  - { name: boom, match: { paths: ["/boom"] }, service: app }',
    '  - { name: limited, match: { paths: ["/limited"] }, service: app, plugins: [{ name: rate-limit, config: { limit: 2, window: 1m } }] }',
    '  - { name: keyed, match: { paths: ["/keyed"] }, service: app, plugins: [{ name: key-auth }] }',
    'consumers: [{ name: alice, credentials: { keys: ["alice-key-0000000001"] } }]',
    "",
  ].join("\n");
}

/** Sends `count` GETs to `path` through the proxy, each on a connection of its own. */
async function send(gw: AdminGateway, path: string, count: number, headers = {}) {
  const port = gw.gateway.addresses().proxy[0]!.port;
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      headers: { connection: "close", ...headers },
    });
    await res.body.dump();
    statuses.push(res.statusCode);
  }
  return statuses;
}

/** Reads the stats stream until `events` stats events came, or the deadline passed. */
async function readStream(gw: AdminGateway, headers: Record<string, string>, events: number) {
  const port = gw.gateway.addresses().admin!.port;
  const res = await fetch(`http://127.0.0.1:${port}/stats/stream`, {
    headers,
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) return { status: res.status, stats: [], ended: true };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const stats: { totals: { requests: number } }[] = [];
  let ended = false;
  while (stats.length < events) {
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    text += decoder.decode(value, { stream: true });
    let end = text.indexOf("\n\n");
    while (end >= 0) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      if (event.startsWith("event: stats\n")) stats.push(JSON.parse(event.split("data: ")[1]!));
      end = text.indexOf("\n\n");
    }
  }
  return { status: res.status, type: res.headers.get("content-type"), stats, reader, ended };
}

describe("admin API for dashboards", () => {
  let upstream: Server;
  let gw: AdminGateway;
  let dir: string;

  before(async () => {
    upstream = createServer((req, res) => {
      res.writeHead(req.url === "/boom" ? 500 : 200, { "content-type": "text/plain" });
      res.end("hello");
    });
    await new Promise<void>((done) => upstream.listen(0, "127.0.0.1", done));
    dir = await mkdtemp(join(tmpdir(), "gatehouse-dashboard-"));
    gw = await startAdminGateway(config((upstream.address() as AddressInfo).port, dir), { dir });
  });

  after(async () => {
    await gw?.stop();
    upstream?.close();
    if (dir) await removeDir(dir);
  });

  it("GET /schema: the config's JSON Schema, as `gatehouse schema` prints it; any key", async () => {
    const answer = await gw.admin("GET", "/schema", undefined, asViewer);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, configJsonSchema());
    assert.equal((await gw.admin("GET", "/schema")).status, 401);
  });

  it("POST /config/validate: a valid change's diff, applying nothing", async () => {
    const exported = await gw.admin("GET", "/config?format=yaml", undefined, asOps);
    const versions = await gw.admin("GET", "/config/versions", undefined, asOps);
    const audited = (await gw.admin("GET", "/audit", undefined, asOps)).body.matched;
    const added = `${exported.text}\n`.replace(
      /^routes:\n/m,
      "routes:\n  - name: extra\n    match: { paths: [/extra] }\n    service: app\n",
    );
    const answer = await gw.admin("POST", "/config/validate", added, { ...yaml, ...asViewer });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.valid, true, answer.text);
    assert.deepEqual(answer.body.problems, []);
    assert.equal(answer.body.diff.from, versions.body.current);
    assert.deepEqual(
      answer.body.diff.resources.map(({ kind, name, change }: Record<string, string>) => [
        kind,
        name,
        change,
      ]),
      [["route", "extra", "created"]],
    );
    // Nothing applied, no version, no audit record.
    assert.equal((await gw.admin("GET", "/routes/extra", undefined, asOps)).status, 404);
    const after = await gw.admin("GET", "/config/versions", undefined, asOps);
    assert.equal(after.body.current, versions.body.current);
    assert.equal((await gw.admin("GET", "/audit", undefined, asOps)).body.matched, audited);
    assert.equal((await gw.proxy("/extra")).status, 404);
  });

  it("POST /config/validate: each problem at its path, line and column in the body sent", async () => {
    const body = [
      "services:",
      "  - name: app",
      '    targets: [{ url: "http://127.0.0.1:9" }]',
      "routes:",
      "  - name: r",
      "    match: { paths: [/r] }",
      "    service: nope",
      "    timeout: 5 parsecs",
      "",
    ].join("\n");
    const answer = await gw.admin("POST", "/config/validate", body, { ...yaml, ...asOps });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.valid, false);
    const byPath = new Map(answer.body.problems.map((p: { path: string }) => [p.path, p] as const));
    assert.deepEqual(
      { ...(byPath.get("routes[0].service") as object), message: "" },
      { path: "routes[0].service", message: "", line: 7, column: 14 },
      answer.text,
    );
    assert.match((byPath.get("routes[0].service") as { message: string }).message, /nope/);
    assert.ok(
      answer.body.diff.resources.length > 0,
      "the diff is there even for an invalid config",
    );
    // A YAML syntax error, at its line and column.
    const broken = "services:\n  - name: app\n    targets: [{ url: x }\n";
    const syntax = await gw.admin("POST", "/config/validate", broken, { ...yaml, ...asOps });
    assert.equal(syntax.status, 200, syntax.text);
    assert.equal(syntax.body.valid, false);
    assert.equal(syntax.body.diff, null);
    assert.match(syntax.body.problems[0].message, /^YAML syntax: /);
    assert.equal(syntax.body.problems[0].line, 4);
    // JSON too: where JSON.parse stopped.
    const json = await gw.admin("POST", "/config/validate", '{\n  "routes": [,]\n}', {
      "content-type": "application/json",
      ...asOps,
    });
    assert.equal(json.status, 200, json.text);
    assert.deepEqual(
      [json.body.problems[0].line, json.body.problems[0].column],
      [2, 14],
      json.text,
    );
    assert.equal((await gw.admin("POST", "/config/validate", body, yaml)).status, 401);
    assert.equal((await gw.admin("GET", "/routes/r", undefined, asOps)).status, 404);
  });

  it("GET /audit: newest first, filtered by actor, source, outcome, time and limit", async () => {
    const start = new Date().toISOString();
    const route = { name: "audited", match: { paths: ["/audited"] }, service: "app" };
    assert.equal((await gw.admin("POST", "/routes", route, asOps)).status, 201);
    const bad = { name: "bad", match: { paths: ["/bad"] }, service: "nope" };
    assert.equal((await gw.admin("POST", "/routes", bad, asOps)).status, 400);
    const all = await gw.admin("GET", "/audit", undefined, asViewer);
    assert.equal(all.status, 200, all.text);
    const [newest, previous] = all.body.entries;
    assert.deepEqual([newest.action, newest.result], ["route.create", "rejected"]);
    assert.deepEqual([previous.action, previous.result], ["route.create", "accepted"]);
    assert.ok(Date.parse(newest.time) >= Date.parse(previous.time));
    const query = async (q: string) => {
      const answer = await gw.admin("GET", `/audit?${q}`, undefined, asOps);
      assert.equal(answer.status, 200, answer.text);
      return answer.body.entries as { actor: string; result: string; source: string }[];
    };
    assert.deepEqual(
      (await query(`outcome=rejected&since=${start}`)).map((e) => e.result),
      ["rejected"],
    );
    assert.ok((await query("actor=ops")).length >= 2);
    assert.ok((await query("actor=ops")).every((e) => e.actor === "ops"));
    assert.deepEqual(await query("actor=nobody"), []);
    assert.ok((await query("source=start")).every((e) => e.source === "start"));
    assert.equal((await query(`source=admin&since=${start}`)).length, 2);
    assert.deepEqual(
      await query(`until=${new Date(Date.parse(start) - 60_000).toISOString()}&source=admin`),
      [],
    );
    assert.equal((await query("limit=1")).length, 1);
    for (const q of ["since=yesterday", "limit=0", "limit=x", "outcome=maybe"]) {
      const refused = await gw.admin("GET", `/audit?${q}`, undefined, asOps);
      assert.equal(refused.status, 400, q);
      assert.equal(refused.body.error.code, "GATEHOUSE_ADMIN_BAD_REQUEST");
    }
    assert.equal((await gw.admin("GET", "/audit")).status, 401);
  });

  it("GET /stats: moved by traffic, errors and refusals counted, upstreams and config", async () => {
    const before = (await gw.admin("GET", "/stats", undefined, asViewer)).body;
    assert.deepEqual(await send(gw, "/ok", 5), [200, 200, 200, 200, 200]);
    assert.deepEqual(await send(gw, "/boom", 2), [500, 500]);
    assert.deepEqual(await send(gw, "/limited", 4), [200, 200, 429, 429]);
    assert.deepEqual(await send(gw, "/keyed", 2), [401, 401]);
    assert.deepEqual(await send(gw, "/keyed", 1, { "x-api-key": "alice-key-0000000001" }), [200]);
    const answer = await gw.admin("GET", "/stats", undefined, asViewer);
    assert.equal(answer.status, 200, answer.text);
    const stats = answer.body;
    const route = (name: string) => stats.routes.find((r: { name: string }) => r.name === name);
    assert.equal(stats.totals.requests - before.totals.requests, 14);
    assert.equal(route("ok").requests, 5);
    assert.equal(route("boom").errors, 2);
    assert.equal(route("limited").rateLimited, 2);
    assert.equal(route("keyed").authRefused, 2);
    assert.equal(stats.totals.errors - before.totals.errors, 2);
    assert.equal(typeof stats.totals.p50Ms, "number");
    assert.ok(stats.totals.p99Ms >= stats.totals.p50Ms);
    const app = stats.services.find((s: { name: string }) => s.name === "app");
    assert.ok(app.requests >= 14);
    assert.equal(stats.buckets.length, 180);
    const last = stats.buckets.at(-1);
    assert.ok(
      Date.parse(last.start) <= Date.now() && Date.parse(stats.window.to) > Date.now() - 1000,
    );
    assert.ok(
      stats.buckets.reduce((n: number, b: { requests: number }) => n + b.requests, 0) >= 14,
    );
    assert.deepEqual(stats.upstreams, [{ service: "app", healthy: 1, available: 1, total: 1 }]);
    const versions = await gw.admin("GET", "/config/versions", undefined, asOps);
    assert.equal(stats.config.version, versions.body.current);
    assert.equal(stats.config.appliedAt, versions.body.versions[0].appliedAt);
  });

  it("GET /stats/stream: needs the key, sends the stats again every few seconds", async () => {
    const refused = await readStream(gw, {}, 1);
    assert.equal(refused.status, 401);
    const started = Date.now();
    const stream = await readStream(gw, asViewer, 2);
    assert.equal(stream.status, 200);
    assert.equal(stream.type, "text/event-stream");
    assert.equal(stream.stats.length, 2);
    assert.ok(Date.now() - started < 6_000);
    await send(gw, "/ok", 1);
    const next = await readStream(gw, asViewer, 1);
    assert.ok(next.stats[0]!.totals.requests > stream.stats[0]!.totals.requests);
    await stream.reader?.cancel();
    await next.reader?.cancel();
  });

  it("docs/admin-api.md: the dry run's example is what it answers; audit and stats answer as shown", async () => {
    const text = await readFile(docs, "utf8");
    const body = text.slice(
      text.indexOf("$ cat change.yaml\n") + 18,
      text.indexOf("$ curl -s -X POST http://127.0.0.1:9902/config/validate"),
    );
    const docsDir = await mkdtemp(join(tmpdir(), "gatehouse-dashboard-docs-"));
    const example = await startAdminGateway(
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  admin: { port: 0 }",
        "  log: { level: silent }",
        "  reload: { watch: false }",
        "  configStore: { file: false }",
        'services: [{ name: users, targets: [{ url: "http://127.0.0.1:9001" }] }]',
        'routes: [{ name: users-api, match: { paths: ["/api/users"] }, service: users }]',
        "",
      ].join("\n"),
      { dir: docsDir },
    );
    try {
      const answer = await example.admin("POST", "/config/validate", body, yaml);
      assert.deepEqual(answer.body, shownAfter(text, "--data-binary @change.yaml"));
    } finally {
      await example.stop();
      await removeDir(docsDir);
    }
    const audit = await gw.admin("GET", "/audit?outcome=rejected&limit=1", undefined, asOps);
    const shownAudit = shownAfter(
      text,
      "$ curl -s 'http://127.0.0.1:9902/audit?outcome=rejected&limit=1'",
    );
    assert.deepEqual(shape({ ...audit.body, kept: "memory" }), shape(shownAudit));
    const stats = await gw.admin("GET", "/stats", undefined, asOps);
    assert.deepEqual(
      shape(stats.body),
      shape(shownAfter(text, "$ curl -s http://127.0.0.1:9902/stats")),
    );
  });

  it("with worker threads: the stats add up every worker's requests; stop ends the stream", async () => {
    const workersDir = await mkdtemp(join(tmpdir(), "gatehouse-dashboard-workers-"));
    const port = (upstream.address() as AddressInfo).port;
    const workers = await startAdminGateway(config(port, workersDir, "  workers: 2"), {
      dir: workersDir,
    });
    try {
      await send(workers, "/ok", 12);
      const stats = (await workers.admin("GET", "/stats", undefined, asOps)).body;
      assert.equal(stats.totals.requests, 12);
      const stream = await readStream(workers, asOps, 1);
      assert.equal(stream.stats[0]!.totals.requests, 12);
      const stopped = workers.stop();
      const ended = await Promise.race([
        (async () => {
          for (let i = 0; i < 100; i++) if ((await stream.reader!.read()).done) return true;
          return false;
        })(),
        new Promise((done) => setTimeout(() => done("timeout"), 5_000)),
      ]);
      assert.equal(ended, true, "the stream ends when the gateway stops");
      await stopped;
    } finally {
      await workers.stop();
      await removeDir(workersDir);
    }
  });
});
