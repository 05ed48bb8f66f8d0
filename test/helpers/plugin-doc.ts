/**
 * @module test/helpers/plugin-doc
 * Runs a plugin's section of docs/plugins.md as written: its fenced blocks, a gateway
 * started from its `# gatehouse.yaml` block with the doc's upstream (127.0.0.1:9001)
 * replaced by a real one, and its curl lines run with bash against that gateway, each
 * answer compared with the one the doc prints.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse as parseYaml, stringify } from "yaml";
import { Gateway } from "../../src/gateway.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";

export const run = promisify(execFile);
export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The `### name` section of docs/plugins.md (up to the next heading of its level or above). */
export function pluginSection(name: string) {
  const docs = readFileSync(join(repositoryRoot, "docs/plugins.md"), "utf8");
  const start = docs.indexOf(`### ${name}\n`);
  assert.ok(start >= 0, `docs/plugins.md has a ### ${name} section`);
  const next = docs.slice(start + 1).search(/\n#{2,3} /);
  const text = docs.slice(start, next === -1 ? undefined : start + 1 + next);
  /** The section's fenced blocks of `language`, in order. */
  const blocks = (language: string): string[] => {
    const fence = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g");
    return [...text.matchAll(fence)].map((match) => match[1]!);
  };
  return {
    text,
    blocks,
    /** The yaml block whose first line is `# file`. */
    namedBlock(file: string): string {
      const block = blocks("yaml").find((candidate) => candidate.startsWith(`# ${file}\n`));
      assert.ok(block, `the ${name} section has a yaml block for ${file}`);
      return block;
    },
  };
}

/**
 * Starts a gateway from the doc's config `yaml` written into `dir` as gatehouse.yaml (so
 * files it names resolve there), its first service pointed at `upstreamUrl`, quiet, on a
 * free port.
 */
export async function startDocGateway(yaml: string, upstreamUrl: string, dir: string) {
  const config = parseYaml(yaml) as {
    gateway: Record<string, unknown>;
    services: { targets: { url: string }[] }[];
  };
  assert.equal(config.services[0]!.targets[0]!.url, "http://127.0.0.1:9001");
  config.services[0]!.targets = [{ url: upstreamUrl }];
  config.gateway.listen = [{ host: "127.0.0.1", port: 0 }];
  config.gateway.log = { level: "silent" };
  config.gateway.accessLog = { enabled: false };
  const file = join(dir, "gatehouse.yaml");
  writeFileSync(file, stringify(config));
  const gateway = new Gateway(parseGatewayConfig(readFileSync(file, "utf8"), file, {}));
  await gateway.start();
  return { gateway, port: gateway.addresses().proxy[0]!.port };
}

/** An answer with its request id blanked, as the docs print it. */
export function withoutRequestId(text: string): unknown {
  const answer = JSON.parse(text) as { error?: { requestId?: string } };
  if (answer.error?.requestId) answer.error.requestId = "…";
  return answer;
}

/**
 * Runs the section's first `sh` block line by line against the gateway on `port`; the
 * first line's request passes (its stdout is returned for the caller to check), each
 * other line's answer must equal the matching line of the first `json` block.
 */
export async function runDocRequests(
  section: ReturnType<typeof pluginSection>,
  port: number,
): Promise<string> {
  const lines = section.blocks("sh")[0]!.trim().split("\n");
  const printed = section.blocks("json")[0]!.trim().split("\n");
  assert.equal(lines.length, printed.length + 1, "one answer printed for each refused request");
  const answers: string[] = [];
  for (const line of lines) {
    assert.ok(line.includes("localhost:8080"), line);
    const script = line.replaceAll("localhost:8080", `127.0.0.1:${port}`);
    const { stdout } = await run("bash", ["-euo", "pipefail", "-c", script], { timeout: 10_000 });
    answers.push(stdout);
  }
  answers.slice(1).forEach((answer, i) => {
    assert.deepEqual(
      withoutRequestId(answer),
      JSON.parse(printed[i]!),
      `the answer to: ${lines[i + 1]}`,
    );
  });
  return answers[0]!;
}
