// docs/config.md is generated from the schema; this keeps the committed file in step.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { configDocsPath, renderConfigDocs } from "../../scripts/gen-config-docs.ts";
import { parseGatewayConfig } from "../runtime/validate.ts";
import { configJsonSchema } from "./json-schema.ts";

describe("docs/config.md", () => {
  it("is what the schema generates", async () => {
    const committed = await readFile(configDocsPath, "utf8").catch(() => "");
    assert.ok(
      committed === renderConfigDocs(),
      "docs/config.md is out of date with src/config/schema/: run `npm run docs`",
    );
  });

  it("documents every key the schema allows, and the example validates", async () => {
    const docs = renderConfigDocs();
    for (const key of propertyNames(configJsonSchema()))
      assert.ok(docs.includes(`\n| \`${key}\` |`), `${key} has a row`);
    const example = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    assert.ok(example, "the docs hold an example config");
    const config = parseGatewayConfig(example, "docs/config.md", {});
    assert.ok(config.routes.length > 0);
  });
});

/** Every object key anywhere in a JSON Schema. */
function propertyNames(node: unknown): Set<string> {
  const names = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      const properties = (value as { properties?: Record<string, unknown> }).properties;
      for (const name of Object.keys(properties ?? {})) names.add(name);
      Object.values(value).forEach(visit);
    }
  };
  visit(node);
  return names;
}
