// threat-protection keeps a gateway's memory bounded on huge JSON bodies: a real
// `gatehouse start` process whose route takes bodies up to 200 MB is sent 100 MB bodies,
// deeply nested, flat but wide, within raised limits (streamed whole to the upstream, one
// of them all prose for the patterns to check), and refused only at their end; its resident memory, read from /proc while each streams, never
// grows 50 MB past what it was before (after one 100 MB body through a route without it).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cliPath } from "../helpers/cli.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const MB = 1024 * 1024;
const total = 100 * MB;
const allowedGrowth = 50 * MB;

/** The child's resident set size, from /proc. */
function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!;
  return Number(kb) * 1024;
}

/** A 100 MB body: `head`, then `unit` repeated, then `tail`, made 64 KB at a time. */
function* body(head: string, unit: string, tail: string): Generator<Buffer> {
  yield Buffer.from(head);
  const repeats = Math.floor((total - head.length - tail.length) / unit.length);
  const perChunk = Math.max(1, Math.floor(65536 / unit.length));
  const chunk = Buffer.from(unit.repeat(perChunk));
  let left = repeats;
  for (; left >= perChunk; left -= perChunk) yield chunk;
  yield Buffer.from(unit.repeat(left) + tail);
}

interface Outcome {
  status: number;
  body: string;
  sent: number;
  peakGrowth: number;
}

/** POSTs `chunks` (chunked) until the whole body went or the gateway answered. */
function post(port: number, path: string, chunks: Iterable<Buffer>, pid: number): Promise<Outcome> {
  const baseline = rss(pid);
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss(pid));
  }, 20);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    const iterator = chunks[Symbol.iterator]();
    const pump = () => {
      while (!answered) {
        const next = iterator.next();
        if (next.done) return void req.end();
        sent += next.value.length;
        if (!req.write(next.value)) return void req.once("drain", pump);
      }
    };
    req.on("response", (res: IncomingMessage) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8").on("data", (piece: string) => {
        text += piece;
      });
      res.on("end", () => {
        clearInterval(sampler);
        peak = Math.max(peak, rss(pid));
        req.destroy();
        resolve({ status: res.statusCode!, body: text, sent, peakGrowth: peak - baseline });
      });
    });
    req.on("error", (error) => {
      clearInterval(sampler);
      if (!answered) reject(error);
    });
    pump();
  });
}

describe("threat-protection memory on 100 MB bodies", () => {
  let up: Upstream;
  let gateway: ChildProcess;
  let port: number;

  before(async () => {
    up = await startUpstream((req, res) => {
      const hash = createHash("sha256");
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      req.on("end", () => res.end(JSON.stringify({ size, sha256: hash.digest("hex") })));
    });
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-threat-"));
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  limits: { maxBodySize: 200mb }",
        "  accessLog: { enabled: false }",
        "services:",
        `  - { name: api, targets: [{ url: "${up.url}" }] }`,
        "routes:",
        "  - name: api",
        '    match: { paths: ["/api/*"] }',
        "    service: api",
        "    plugins: [{ name: threat-protection }]",
        "  - name: plain",
        '    match: { paths: ["/plain/*"] }',
        "    service: api",
        "  - name: bulk",
        '    match: { paths: ["/bulk/*"] }',
        "    service: api",
        "    plugins:",
        "      - name: threat-protection",
        "        config: { json: { maxArrayLength: 100000000, maxSize: 150mb } }",
        "",
      ].join("\n"),
    );
    gateway = spawn(process.execPath, [cliPath, "start", "-c", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    gateway.stdout!.setEncoding("utf8").on("data", (piece: string) => {
      out += piece;
    });
    gateway.stderr!.setEncoding("utf8").on("data", (piece: string) => {
      out += piece;
    });
    const deadline = Date.now() + 15_000;
    const listening = () => /proxy listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    while (listening() === undefined) {
      if (gateway.exitCode !== null || Date.now() > deadline) {
        throw new Error(`gatehouse did not start:\n${out}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    port = Number(listening());
    // Warm up: code paths compiled and pools made before the baseline is taken. The first
    // large body a Node process streams grows its heap and allocator pools by some 75 MB,
    // with or without this plugin (measured on a route without it); the ones after do not.
    const small = [Buffer.from('{"warm":[1,2,3]}')];
    for (let i = 0; i < 20; i++) await post(port, "/api/warm", small, gateway.pid!);
    const warm = await post(port, "/plain/warm", body("[", "1,", "1]"), gateway.pid!);
    assert.equal(warm.status, 200);
  });

  after(async () => {
    gateway?.kill("SIGKILL");
    await up?.close();
  });

  const cases = [
    ["deeply nested", "/api/deep", body("", "[", ""), 413, /maxDepth \(64\)/],
    ["flat but wide", "/api/wide", body("{", '"k":0,', '"z":0}'), 413, /maxKeys \(1000\)/],
    ["within raised limits", "/bulk/items", body("[", '{"id":1},', '{"id":2}]'), 200, /size/],
    // Every string of this one is checked against the patterns (each has characters they need).
    [
      "of prose, within raised limits",
      "/bulk/notes",
      body("[", '{"note":"O\'Brien\'s order; select a plan (blue)."},', "1]"),
      200,
      /size/,
    ],
    ["nested at its very end", "/bulk/late", body("[", "1,", "[".repeat(100)), 413, /maxDepth/],
  ] as const;
  for (const [name, path, chunks, status, answer] of cases) {
    it(`${name}: answered ${status} with memory bounded`, async () => {
      const outcome = await post(port, path, chunks, gateway.pid!);
      console.log(
        `${name}: ${outcome.status} after ${(outcome.sent / MB).toFixed(1)} MB sent; gateway RSS grew ${(outcome.peakGrowth / MB).toFixed(1)} MB`,
      );
      assert.equal(outcome.status, status, outcome.body);
      assert.match(outcome.body, answer);
      assert.ok(outcome.peakGrowth < allowedGrowth, `RSS grew ${outcome.peakGrowth} bytes`);
      if (status === 200) {
        assert.equal(JSON.parse(outcome.body).size, outcome.sent, "the upstream got it all");
      }
    });
  }
});
