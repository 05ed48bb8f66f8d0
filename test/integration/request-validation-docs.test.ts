// docs/plugins.md's request-validation example run as written: its OpenAPI document and
// config in a folder of their own, a real gateway and upstream, the doc's curl lines run
// with bash, and their answers compared with the ones the doc prints. docs/errors.md's
// GATEHOUSE_REQUEST_INVALID example has the shape the gateway answers with.
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
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = readFileSync(join(root, "docs/plugins.md"), "utf8");
const start = docs.indexOf("### request-validation");
const end = docs.indexOf("\n## ", start);
const section = docs.slice(start, end === -1 ? undefined : end);

function blocks(language: string): string[] {
  const fence = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g");
  return [...section.matchAll(fence)].map((match) => match[1]!);
}

/** The block whose first line is `# name`. */
function namedBlock(name: string): string {
  const block = blocks("yaml").find((text) => text.startsWith(`# ${name}\n`));
  assert.ok(block, `the section has a yaml block for ${name}`);
  return block;
}

/** An answer with its request id blanked, as the doc prints it. */
function withoutRequestId(text: string): unknown {
  const answer = JSON.parse(text) as { error?: { requestId?: string } };
  if (answer.error?.requestId) answer.error.requestId = "…";
  return answer;
}

describe("docs/plugins.md: request-validation", () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-validation-docs-"));
  let up: Upstream;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    up = await startUpstream(echo);
    writeFileSync(join(dir, "openapi.yaml"), namedBlock("openapi.yaml"));
    const config = parseYaml(namedBlock("gatehouse.yaml")) as {
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
    const passed = JSON.parse(answers[0]!) as { url: string };
    assert.equal(passed.url, "/users?page=2&role=admin&role=member");
    answers.slice(1).forEach((answer, i) => {
      assert.deepEqual(
        withoutRequestId(answer),
        JSON.parse(printed[i]!),
        `the answer to: ${lines[i + 1]}`,
      );
    });
  });

  it("errors.md's example has the answer's shape", async () => {
    const errors = readFileSync(join(root, "docs/errors.md"), "utf8");
    const example = [...errors.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((match) => match[1]!)
      .find((text) => text.includes("GATEHOUSE_REQUEST_INVALID"));
    assert.ok(example, "errors.md shows a GATEHOUSE_REQUEST_INVALID answer");
    const shown = JSON.parse(example) as { error: { details: { problems: object[] } } };
    const { stdout } = await run("curl", ["-s", `http://127.0.0.1:${port}/api/users?page=x`]);
    const real = JSON.parse(stdout) as { error: { details: { problems: object[] } } };
    assert.deepEqual(Object.keys(shown.error), Object.keys(real.error));
    assert.deepEqual(
      Object.keys(shown.error.details.problems[0]!),
      Object.keys(real.error.details.problems[0]!),
    );
  });
});
