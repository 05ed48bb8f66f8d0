// The failover examples of docs/health-checks.md and docs/load-balancing.md validate and
// mean what the text around them says.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { defaultPassiveCheck } from "../../config/schema/upstream.ts";
import { parseGatewayConfig } from "../../runtime/validate.ts";

/** The YAML block that follows `heading` in a docs page. */
async function exampleAfter(page: string, heading: string): Promise<string> {
  const text = await readFile(new URL(`../../../docs/${page}`, import.meta.url), "utf8");
  const at = text.indexOf(heading);
  assert.ok(at >= 0, `${page} has "${heading}"`);
  const block = /```yaml\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(block, `${page} has a YAML example after "${heading}"`);
  return block[1]!;
}

const gateway = "gateway:\n  listen: [{ host: 127.0.0.1, port: 8080 }]\n";

/** A whole config around a service's `healthCheck` (indented as the docs show it). */
function withHealthCheck(snippet: string): string {
  return `${gateway}services:\n  - name: users\n    targets: [{ url: http://10.0.0.1:9001 }]\n${snippet}`;
}

describe("failover docs examples", () => {
  it("health-checks.md: the default rule, tuned", async () => {
    const yaml = await exampleAfter("health-checks.md", "### The default rule");
    const config = parseGatewayConfig(withHealthCheck(yaml), "health-checks.md", {});
    const passive = config.services[0]!.healthCheck.passive!;
    assert.equal(passive.consecutiveFailures, 0);
    assert.equal(passive.consecutiveLocalOriginFailures, 2);
    assert.equal(passive.baseEjection, 5_000);
    assert.equal(passive.maxEjectionPercent, 50);
  });

  it("health-checks.md: the rule a service has without a passive block", () => {
    const config = parseGatewayConfig(withHealthCheck(""), "x.yaml", {});
    assert.equal(config.services[0]!.healthCheck.passive, undefined);
    assert.equal(defaultPassiveCheck.consecutiveFailures, 0, "5xx eject nobody");
    assert.equal(defaultPassiveCheck.consecutiveLocalOriginFailures, 1);
    assert.equal(defaultPassiveCheck.baseEjection, 10_000);
    assert.equal(defaultPassiveCheck.maxEjection, 300_000);
    assert.equal(defaultPassiveCheck.maxEjectionPercent, 50);
  });

  it("load-balancing.md: a hung target costs timeouts.response, 60s unless set", async () => {
    const yaml = await exampleAfter("load-balancing.md", "**`timeouts.response` stays at 60 s.**");
    const [catalog] = parseGatewayConfig(gateway + yaml, "load-balancing.md", {}).services;
    assert.equal(catalog!.timeouts.response, 2_000);
    const [plain] = parseGatewayConfig(withHealthCheck(""), "x.yaml", {}).services;
    assert.equal(plain!.timeouts.response, 60_000);
  });
});
