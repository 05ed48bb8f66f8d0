// docs/plugins.md's threat-protection example run as written: its config in a folder of
// its own with a real upstream behind it, the doc's curl lines run with bash, the first
// passed on unchanged and the others answered as the doc prints them; the option table
// names every option of the plugin's schema, with its default.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Gateway } from "../../src/gateway.ts";
import { threatProtectionSchema } from "../../src/plugins/threat-protection/schema.ts";
import { pluginSection, runDocRequests, startDocGateway } from "../helpers/plugin-doc.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const section = pluginSection("threat-protection");

describe("docs/plugins.md: threat-protection", () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-threat-docs-"));
  let up: Upstream;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    up = await startUpstream(echo);
    const printed = section.blocks("yaml")[0]!;
    assert.ok(printed.startsWith("# gatehouse.yaml\n"));
    ({ gateway, port } = await startDocGateway(printed, up.url, dir));
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the doc's requests as printed", async () => {
    const passed = JSON.parse(await runDocRequests(section, port)) as {
      url: string;
      bodySize: number;
    };
    assert.equal(passed.url, "/api/orders");
    assert.equal(
      passed.bodySize,
      Buffer.byteLength(`{"note":"Leave it with O'Brien; select the gift wrap"}`),
    );
  });

  it("documents every option with its default", () => {
    const defaults = threatProtectionSchema.parse({}) as Record<string, unknown>;
    const rows = new Map(
      [...section.text.matchAll(/^\| `([^|]+)` \| ([^|]+) \|/gm)].map((match) => [
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
