// The custom plugin shown in docs/plugins.md is real: it is under 30 lines, and it works
// through the public API exactly as printed.
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { request } from "undici";
import { createGateway, type PluginDefinition, registerPlugin } from "../../src/index.ts";
import { echo, startUpstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("docs/plugins.md", () => {
  it("shows a complete custom plugin in under 30 lines that works as printed", async () => {
    const docs = await readFile(join(root, "docs/plugins.md"), "utf8");
    const section = docs.slice(docs.indexOf("## A plugin of your own"));
    const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    assert.ok(code.trimEnd().split("\n").length < 30, "under 30 lines");
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-plugin-"));
    const file = join(dir, "require-tenant.ts");
    const index = pathToFileURL(join(root, "src/index.ts")).href;
    const zod = pathToFileURL(join(root, "node_modules/zod/index.js")).href;
    await writeFile(
      file,
      code.replace('from "gatehouse"', `from "${index}"`).replace('from "zod"', `from "${zod}"`),
    );
    const plugin = (await import(pathToFileURL(file).href)).default as PluginDefinition;
    registerPlugin(plugin);

    const up = await startUpstream(echo);
    const gw = await createGateway({
      gateway: { listen: [{ host: "127.0.0.1", port: 0 }], shutdownTimeout: "1s" },
      services: [{ name: "svc", targets: [{ url: up.url }] }],
      routes: [
        {
          name: "r",
          match: { paths: ["/*"] },
          service: "svc",
          plugins: [{ name: "require-tenant", config: { allowed: ["acme"] } }],
        },
      ],
    });
    try {
      const url = `http://127.0.0.1:${gw.addresses().proxy[0]!.port}/x`;
      const refused = await request(url, { headers: { "x-tenant": "evil" } });
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(await refused.body.json(), { error: "unknown tenant" });
      const res = await request(url, { headers: { "x-tenant": "acme" } });
      const seen = (await res.body.json()) as { headers: Record<string, string> };
      assert.equal(seen.headers["x-tenant-verified"], "acme");
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
