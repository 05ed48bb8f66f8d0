// Third-party plugins named in the config file: loaded relative to the file, their config
// checked by their own schema, and a module that cannot be loaded reported at FILE:LINE:COL.
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigError, formatProblem } from "../../src/config/load.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const index = pathToFileURL(join(root, "src/index.ts")).href;
const zod = pathToFileURL(join(root, "node_modules/zod/index.js")).href;

let fixtures = 0;

async function fixture(modules: string[], pluginConfig: string, priority = 0): Promise<string> {
  // Each fixture's plugin has its own name: two modules may not register the same one.
  const name = `stamp-${++fixtures}`;
  const dir = await mkdtemp(join(tmpdir(), "gatehouse-modules-"));
  await writeFile(
    join(dir, "stamp.ts"),
    `import { z } from "${zod}";
import { definePlugin } from "${index}";
export default definePlugin({
  name: "${name}",
  schema: z.strictObject({ value: z.string() }),
  priority: 10,
  create: (config) => ({ beforeUpstream: (ctx) => ctx.setUpstreamHeader("x-stamp", config.value) }),
});
`,
  );
  await writeFile(join(dir, "not-a-plugin.ts"), "export default 42;\n");
  const file = join(dir, "gatehouse.yaml");
  await writeFile(
    file,
    [
      "gateway:",
      "  listen: [{ port: 8080 }]",
      `  pluginModules: [${modules.map((m) => JSON.stringify(m)).join(", ")}]`,
      "services: [{ name: s, targets: [{ url: 'http://127.0.0.1:9' }] }]",
      "routes:",
      "  - name: r",
      "    match: { paths: [/a] }",
      "    service: s",
      `    priority: ${priority}`,
      `    plugins: [{ name: ${name}, config: ${pluginConfig} }]`,
    ].join("\n"),
  );
  return file;
}

const problemsOf = async (file: string) => {
  try {
    await validateConfigFile(file, {});
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map(formatProblem).map((line) => line.slice(file.length));
  }
};

describe("gateway.pluginModules", () => {
  it("loads a plugin from a path relative to the config file and checks its config", async () => {
    const good = await fixture(["./stamp.ts"], "{ value: v1 }");
    assert.deepEqual(await problemsOf(good), []);
    const bad = await fixture(["./stamp.ts"], "{ valu: v1 }");
    const problems = await problemsOf(bad);
    assert.ok(
      problems.some((line) =>
        /^:10:\d+ routes\[0\]\.plugins\[0\]\.config: unknown key "valu" \(did you mean "value"\?\)/.test(
          line,
        ),
      ),
      problems.join("\n"),
    );
  });

  it("reports its plugin's config problems and a module that fails with the schema's, in one run", async () => {
    const bad = await fixture(["./stamp.ts"], "{ value: 7 }", 1.5);
    const [priority, value, ...rest] = await problemsOf(bad);
    assert.deepEqual(rest, []);
    assert.equal(priority, ":9:15 routes[0].priority: expected a whole number, got 1.5");
    // The column depends on the length of the fixture's plugin name.
    assert.match(
      value!,
      /^:10:\d+ routes\[0\]\.plugins\[0\]\.config\.value: expected a string, got 7$/,
    );
    const missing = await fixture(["./stamp.ts", "./missing.ts"], "{ value: v1 }", 1.5);
    assert.deepEqual(
      (await problemsOf(missing)).map((line) => line.replace(/(plugin module "[^"]*").*/, "$1")),
      [
        ':3:33 gateway.pluginModules[1]: cannot load plugin module "./missing.ts"',
        ":9:15 routes[0].priority: expected a whole number, got 1.5",
      ],
    );
  });

  it("reports a module that cannot be loaded, or exports no plugin, at its entry", async () => {
    const file = await fixture(["./missing.ts", "./not-a-plugin.ts"], "{ value: v1 }");
    const problems = await problemsOf(file);
    assert.ok(
      problems.some((line) =>
        line.startsWith(":3:19 gateway.pluginModules[0]: cannot load plugin module"),
      ),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((line) =>
        line.startsWith(
          ':3:35 gateway.pluginModules[1]: "./not-a-plugin.ts" does not default-export a plugin',
        ),
      ),
      problems.join("\n"),
    );
  });
});
