// config/ is data: the schema, loading and parsing. The runtime is built from it and passes
// in the checks only it can make, so no module here may import the runtime back.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const configDir = dirname(fileURLToPath(import.meta.url));
const srcDir = resolve(configDir, "..");
/** What builds and serves a runtime: the runtime folder and the gateway itself. */
const forbidden = [join(srcDir, "runtime") + sep, join(srcDir, "gateway.ts")];
/** A static `from "..."`, a side-effect `import "..."` or a dynamic `import("...")`. */
const specifier = /\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g;

describe("src/config/", () => {
  it("imports nothing from the runtime or the gateway", async () => {
    const found: string[] = [];
    const entries = await readdir(configDir, { withFileTypes: true, recursive: true });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts"))
        continue;
      const file = join(entry.parentPath, entry.name);
      const text = await readFile(file, "utf8");
      for (const [, spec] of text.matchAll(specifier)) {
        if (!spec?.startsWith(".")) continue;
        const target = resolve(dirname(file), spec);
        if (forbidden.some((path) => target === path || target.startsWith(path)))
          found.push(`${relative(srcDir, file)} imports ${spec}`);
      }
    }
    assert.deepEqual(found, []);
  });
});
