// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config holds a literal ${env:…} reference
// The examples that document browser safety and secrets in URLs do what they show:
// docs/admin-api.md's Browser safety config loads and its refused text/plain POST answers
// as printed; docs/observability.md's status allowedHosts loads; docs/control-plane.md's
// warning is what `gatehouse validate` prints for a key in a URL's query.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { parse } from "yaml";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { removeDir, startAdminGateway } from "../helpers/admin.ts";
import { runGatehouse } from "../helpers/cli.ts";

const docs = (name: string) => readFile(new URL(`../../docs/${name}`, import.meta.url), "utf8");

/** The fenced blocks of `lang` in the section of `text` that starts with `heading`. */
function blocks(text: string, heading: string, lang: string): string[] {
  const start = `\n${text}`.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `no section ${heading}`);
  const end = text.indexOf("\n## ", start + heading.length + 2);
  const section = text.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map(
    (match) => match[1]!,
  );
}

/** A config around an example's `gateway:` part (ports free, a service and a route). */
function around(example: string): string {
  const gateway = parse(example).gateway;
  for (const listener of ["admin", "status"]) if (gateway[listener]) gateway[listener].port = 0;
  return JSON.stringify({
    gateway: { listen: [{ host: "127.0.0.1", port: 0 }], log: { level: "silent" }, ...gateway },
    services: [{ name: "users", targets: [{ url: "http://127.0.0.1:9" }] }],
    routes: [{ name: "users-api", match: { paths: ["/users"] }, service: "users" }],
  });
}

describe("browser safety and URL secrets in the docs", () => {
  it("admin-api.md: the allowedOrigins/allowedHosts config loads, and text/plain is refused as shown", async () => {
    const text = await docs("admin-api.md");
    const [config] = blocks(text, "## Browser safety", "yaml");
    const env = { GATEHOUSE_DASHBOARD_KEY: "dashboard-key-0123456789abcdef" };
    const loaded = parseGatewayConfig(around(config!), "admin.yaml", env);
    assert.deepEqual(loaded.gateway.admin?.allowedOrigins, ["https://dashboard.example.com"]);

    const [console] = blocks(text, "## Browser safety", "console");
    const [command, ...answer] = console!.split("\n");
    const body = /-d '([^']*)'/.exec(command!)![1]!;
    const shown = JSON.parse(answer.join("\n")).error;
    const gw = await startAdminGateway(
      "gateway:\n  listen: [{ port: 0 }]\n  admin: { port: 0 }\n  log: { level: silent }\n",
    );
    try {
      const port = gw.gateway.addresses().admin!.port;
      const res = await request(`http://127.0.0.1:${port}/routes`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body,
      });
      const { error } = (await res.body.json()) as { error: typeof shown };
      assert.equal(res.statusCode, 415);
      assert.deepEqual({ ...error, requestId: shown.requestId }, shown);
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
    }
  });

  it("observability.md: the status listener's allowedHosts config loads", async () => {
    const [config] = blocks(await docs("observability.md"), "# Observability", "yaml");
    const loaded = parseGatewayConfig(around(config!), "status.yaml", {});
    assert.deepEqual(loaded.gateway.status?.allowedHosts, [
      "gatehouse-status",
      "*.svc.cluster.local",
    ]);
  });

  it("control-plane.md: validate warns about a key in a URL's query as shown", async () => {
    const text = await docs("control-plane.md");
    const shown = blocks(text, "## Secrets", "").find((block) => block.includes("warning:"))!;
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-warning-"));
    try {
      // introspectionUrl's value at line 12, column 29, as in the example.
      const config = [
        "gateway:",
        "  listen: [{ port: 8080 }]",
        "services:",
        '  - { name: users, targets: [{ url: "http://127.0.0.1:9001" }] }',
        "routes:",
        "  - name: users-api",
        '    match: { paths: ["/users"] }',
        "    service: users",
        "    plugins:",
        "      - name: oauth2-introspection",
        "        config:",
        '          introspectionUrl: "https://auth.example.com/introspect?api_key=k-0123456789"',
        '          authorization: "${env:INTROSPECTION_AUTHORIZATION}"',
        "",
      ].join("\n");
      await writeFile(join(dir, "gatehouse.yaml"), config);
      const run = await runGatehouse(["validate", "-c", "gatehouse.yaml"], {
        env: { INTROSPECTION_AUTHORIZATION: "Basic Z2F0ZWhvdXNlOnRlc3Q=" },
        cwd: dir,
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, shown);
      assert.ok(!run.stderr.includes("k-0123456789"));
      assert.equal(run.stdout, "gatehouse.yaml: valid\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
