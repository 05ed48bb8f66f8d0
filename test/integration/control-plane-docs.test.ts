// docs/control-plane.md's examples, run as printed: the SIGHUP command against a real
// `gatehouse start`, and the environments example's two files through `gatehouse validate`
// from their folder, with the output the doc shows.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { request } from "undici";
import { runGatehouse } from "../helpers/cli.ts";
import { startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = await readFile(join(root, "docs/control-plane.md"), "utf8");

/** The text of `heading`'s section, up to the next heading of its level or above. */
function section(heading: string): string {
  const lines = docs.split("\n");
  const start = lines.indexOf(heading);
  assert.notEqual(start, -1, `docs/control-plane.md has ${heading}`);
  const level = heading.indexOf(" ");
  let fenced = false;
  let end = start + 1;
  for (; end < lines.length; end++) {
    const line = lines[end]!;
    if (line.startsWith("```")) fenced = !fenced;
    else if (!fenced && /^#+ /.test(line) && line.indexOf(" ") <= level) break;
  }
  return lines.slice(start + 1, end).join("\n");
}

/** The fenced blocks of `text` in `language`. */
function blocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g"))].map(
    (match) => match[1]!,
  );
}

describe("docs/control-plane.md", () => {
  it("SIGHUP: the command finds the gateway's own process and reloads it", async () => {
    const line = blocks(section("### SIGHUP"), "sh")[0]!
      .split("\n")
      .find((text) => text.startsWith("kill -HUP"));
    assert.ok(line, "a kill -HUP command");
    const up = await startUpstream((req, res) => res.end(`up ${req.url}`));
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-sighup-doc-"));
    const file = join(dir, "gatehouse.yaml");
    const config = (path: string) =>
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { host: 127.0.0.1, port: 0 }",
        "  admin: { host: 127.0.0.1, port: 0 }",
        "  reload: { watch: false }", // the signal alone reloads
        "  shutdownTimeout: 1s",
        `services: [{ name: s, targets: [{ url: "${up.url}" }] }]`,
        `routes: [{ name: r, match: { paths: ["${path}"] }, service: s }]`,
      ].join("\n");
    await writeFile(file, config("/old"));
    const node = await startGatehouseNode(file);
    try {
      assert.equal(await node.get("/old"), 200);
      await writeFile(file, config("/new"));
      const status = new URL(node.statusUrl);
      const command = line.replace("127.0.0.1:9901", status.host);
      assert.notEqual(command, line, "the doc's command asks the status listener on 9901");
      await promisify(execFile)("sh", ["-c", command], { timeout: 10_000 });
      await until(async () => (await node.get("/new")) === 200, "the edit to serve after SIGHUP");
      assert.match(node.output(), /"reason":"SIGHUP"/);
      const res = await request(`${node.url}/new`);
      assert.equal(await res.body.text(), "up /new");
    } finally {
      await node.stop();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("environments: the base and overlay validate as printed, and the misspelt service is located", async () => {
    const text = section("## Environments");
    const files = blocks(text, "yaml");
    const named = (name: string) => files.find((block) => block.startsWith(`# ${name}\n`));
    const base = named("gatehouse.yaml");
    const production = named("gatehouse.production.yaml");
    assert.ok(base && production, "the doc shows both files");
    const validate = blocks(text, "sh")[0]!
      .split("\n")
      .find((line) => line.startsWith("gatehouse validate"))!;
    const args = validate.split(" ").slice(1);
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-env-doc-"));
    const run = () => runGatehouse(args, { cwd: dir, env: { GATEHOUSE_ENV: "" } });
    try {
      await writeFile(join(dir, "gatehouse.yaml"), base);
      await writeFile(join(dir, "gatehouse.production.yaml"), production);
      const valid = await run();
      assert.equal(valid.stderr, "");
      assert.equal(valid.stdout, "gatehouse.yaml + gatehouse.production.yaml: valid\n");
      assert.equal(valid.code, 0);

      // "An overlay whose only content is the debug route above, misspelt service: user".
      const debug = production.slice(production.indexOf("  - name: debug"));
      assert.match(debug, /service: users\n$/);
      const misspelt = `routes:\n${debug.replace("service: users", "service: user")}`;
      await writeFile(join(dir, "gatehouse.production.yaml"), misspelt);
      const shown = /```\n\$ (gatehouse validate .*)\n([\s\S]*?)```/.exec(text);
      assert.ok(shown, "the doc shows the error output");
      assert.equal(shown[1], validate);
      const refused = await run();
      assert.equal(refused.stderr, shown[2]);
      assert.equal(refused.code, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
