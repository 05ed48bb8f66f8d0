// docs/plugins.md's threat-protection example run as written: its config in a folder of
// its own with a real upstream behind it, the doc's curl lines run with bash, the first
// passed on unchanged and the others answered as the doc prints them; the option table
// names every option of the plugin's schema, with its default.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse as parseYaml, stringify } from "yaml";
import { Gateway } from "../../src/gateway.ts";
import { threatProtectionSchema } from "../../src/plugins/threat-protection/schema.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = readFileSync(join(root, "docs/plugins.md"), "utf8");
const start = docs.indexOf("### threat-protection");
const section = docs.slice(start, docs.indexOf("\n### ", start + 1));

function blocks(language: string): string[] {
  const fence = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g");
  return [...section.matchAll(fence)].map((match) => match[1]!);
}

/** An answer with its request id blanked, as the doc prints it. */
function withoutRequestId(text: string): unknown {
  const answer = JSON.parse(text) as { error?: { requestId?: string } };
  if (answer.error?.requestId) answer.error.requestId = "…";
  return answer;
}

describe("docs/plugins.md: threat-protection", () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-threat-docs-"));
  let up: Upstream;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    up = await startUpstream(echo);
    const printed = blocks("yaml")[0]!;
    assert.ok(printed.startsWith("# gatehouse.yaml\n"));
    const config = parseYaml(printed) as {
      gateway: Record<string, unknown>;
      services: { targets: { url: string }[] }[];
    };
    assert.equal(config.services[0]!.targets[0]!.url, "http://127.0.0.1:9001");
    config.services[0]!.targets = [{ url: up.url }];
    config.gateway.listen = [{ host: "127.0.0.1", port: 0 }];
    config.gateway.log = { level: "silent" };
    config.gateway.accessLog = { enabled: false };
    const file = join(dir, "gatehouse.yaml");
    writeFileSync(file, stringify(config));
    gateway = new Gateway(parseGatewayConfig(readFileSync(file, "utf8"), file, {}));
    await gateway.start();
    port = gateway.addresses().proxy[0]!.port;
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the doc's requests as printed", async () => {
    const lines = blocks("sh")[0]!.trim().split("\n");
    const printed = blocks("json")[0]!.trim().split("\n");
    assert.equal(lines.length, printed.length + 1, "one answer printed for each refused request");
    const answers: string[] = [];
    for (const line of lines) {
      assert.ok(line.includes("localhost:8080"), line);
      const script = line.replaceAll("localhost:8080", `127.0.0.1:${port}`);
      const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], { timeout: 10_000 });
      answers.push(stdout);
    }
    const passed = JSON.parse(answers[0]!) as { url: string; bodySize: number };
    assert.equal(passed.url, "/api/orders");
    assert.equal(
      passed.bodySize,
      Buffer.byteLength(`{"note":"Leave it with O'Brien; select the gift wrap"}`),
    );
    answers.slice(1).forEach((answer, i) => {
      assert.deepEqual(
        withoutRequestId(answer),
        JSON.parse(printed[i]!),
        `the answer to: ${lines[i + 1]}`,
      );
    });
  });

  it("documents every option with its default", () => {
    const defaults = threatProtectionSchema.parse({}) as Record<string, unknown>;
    const rows = new Map(
      [...section.matchAll(/^\| `([^|]+)` \| ([^|]+) \|/gm)].map((match) => [
        match[1]!,
        match[2]!.trim(),
      ]),
    );
    for (const [part, value] of Object.entries(defaults)) {
      if (typeof value !== "object") {
        assert.equal(rows.get(part), `\`${value}\``, part);
        continue;
      }
      assert.equal(rows.get(part), "on", `${part} may be turned off`);
      for (const option of Object.keys(value as object)) {
        const documented = [...rows.keys()].some((key) =>
          key.split("`, `").includes(`${part}.${option}`),
        );
        assert.ok(documented, `${part}.${option} is in the table`);
      }
    }
    assert.equal(rows.get("patterns.mode"), "`report`");
    assert.equal(rows.get("badBots.mode"), "`block`");
    assert.equal(
      rows.get("json.maxDepth"),
      `\`${(defaults.json as { maxDepth: number }).maxDepth}\``,
    );
  });
});
