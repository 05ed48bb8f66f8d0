// The compression section of docs/plugins.md, run as printed: its two configs in a real
// gateway in front of a real upstream, and its curl line, whose output must show the
// headers the page says it does.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { request } from "undici";
import { parse as parseYaml } from "yaml";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = await readFile(join(root, "docs/plugins.md"), "utf8");
const start = docs.indexOf("### compression");
const section = docs.slice(start, docs.indexOf("\n### ", start + 1));
const block = (lang: string) =>
  [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]!);
const [globalYaml, routeYaml] = block("yaml");
const [curlLine] = block("sh");
const [curlOutput] = block("text");

const report = JSON.stringify({
  rows: Array.from({ length: 120 }, (_, i) => ({ day: i, region: `r-${i % 7}`, total: i * 31 })),
});
const csv = Array.from({ length: 500 }, (_, i) => `${i},region-${i % 7},${i * 31}`).join("\n");

function reports(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const send = (type: string, body: string) => {
      res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === "POST") return send("application/json", Buffer.concat(chunks).toString());
    if (req.url!.endsWith(".csv")) return send("text/csv", csv);
    if (req.url!.endsWith(".html")) return send("text/html", `<p>${csv}</p>`);
    if (req.url!.endsWith("/small")) return send("application/json", report.slice(0, 2000));
    send("application/json", report);
  });
}

/** A gateway on the doc's YAML, its services pointed at `upstream`. */
async function gatewayOf(yaml: string, upstream: Upstream): Promise<RunningGateway> {
  const doc = parseYaml(yaml) as { plugins?: unknown[]; routes?: { service: string }[] };
  const routes = doc.routes ?? [{ name: "all", match: { paths: ["/*"] }, service: "api" }];
  const services = [...new Set(routes.map((route) => route.service))].map((name) => ({
    name,
    targets: [{ url: upstream.url }],
  }));
  return startGateway(testConfig({ ...doc, services, routes } as never));
}

async function get(url: string, acceptEncoding: string) {
  const res = await request(url, { headers: { "accept-encoding": acceptEncoding } });
  return { headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

describe("docs/plugins.md: compression", () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream(reports);
  });
  after(() => upstream.close());

  it("has two configs, a curl line and its output", () => {
    assert.ok(globalYaml && routeYaml && curlLine && curlOutput);
  });

  it("with no options: a browser's Accept-Encoding gets zstd", async () => {
    const gateway = await gatewayOf(globalYaml!, upstream);
    try {
      const res = await get(`${gateway.url}/api/reports/2026`, "gzip, deflate, br, zstd");
      assert.equal(res.headers["content-encoding"], "zstd");
      assert.ok(zlib.zstdDecompressSync(res.body).toString() === report);
    } finally {
      await gateway.stop();
    }
  });

  it("with every option: br first, its types only, from 4 KB, uploads decoded", async () => {
    const gateway = await gatewayOf(routeYaml!, upstream);
    try {
      const json = await get(`${gateway.url}/api/reports/2026`, "gzip, deflate, br, zstd");
      assert.equal(json.headers["content-encoding"], "br");
      assert.ok(zlib.brotliDecompressSync(json.body).toString() === report);
      const table = await get(`${gateway.url}/api/reports/q1.csv`, "gzip");
      assert.equal(table.headers["content-encoding"], "gzip");
      assert.equal(zlib.gunzipSync(table.body).toString(), csv);
      const page = await get(`${gateway.url}/api/reports/q1.html`, "gzip");
      assert.equal(page.headers["content-encoding"], undefined);
      const small = await get(`${gateway.url}/api/reports/small`, "gzip");
      assert.equal(small.headers["content-encoding"], undefined);
      assert.equal(small.headers.vary, "Accept-Encoding");

      const upload = await request(`${gateway.url}/api/reports/upload`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: zlib.gzipSync(report),
      });
      assert.ok((await upload.body.text()) === report);

      // The curl line, run as printed against this gateway.
      const line = curlLine!.trim().replace("http://127.0.0.1:8080", gateway.url);
      const { stdout } = await promisify(execFile)("bash", ["-c", line], { encoding: "utf8" });
      const got = stdout.toLowerCase().split("\r\n");
      for (const expected of curlOutput!.trim().split("\n")) {
        assert.ok(got.includes(expected.toLowerCase()), `curl shows "${expected}" in:\n${stdout}`);
      }
    } finally {
      await gateway.stop();
    }
  });
});
