// A route's OpenAPI document is part of its config: an edit to a file the document's $refs
// reach (not the config, not even the document) reloads the gateway with the new schema,
// and a document broken by an edit is a refused reload, located in its file, while the last
// good one keeps validating. The gateway runs as `gatehouse start` does, its files watched.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { Gateway } from "../../src/gateway.ts";
import { FileProvider, type ReloadEvent } from "../../src/providers/file.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { nextReload } from "../helpers/reload-events.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const document = `openapi: 3.0.3
info: { title: Items, version: "1" }
paths:
  /items:
    get:
      parameters:
        - { name: limit, in: query, schema: { $ref: "./limits.yaml#/Limit" } }
      responses:
        "200": { description: Items }
`;

const limit = (maximum: number) => `Limit: { type: integer, maximum: ${maximum} }\n`;

describe("request-validation: the document's files reload the config", () => {
  let up: Upstream;
  let dir: string;
  before(async () => {
    up = await startUpstream((_req, res) => res.end("items"));
    dir = await mkdtemp(join(tmpdir(), "gatehouse-openapi-reload-"));
  });
  after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies an edit to a referenced schema file, refuses a broken one, then takes it fixed", async () => {
    await mkdir(join(dir, "api"));
    await writeFile(join(dir, "api", "openapi.yaml"), document);
    const limits = join(dir, "api", "limits.yaml");
    await writeFile(limits, limit(100));
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  reload: { watch: true, debounce: 50ms }",
        "  accessLog: { enabled: false }",
        "  log: { level: silent }",
        `services: [{ name: s, targets: [{ url: "${up.url}" }] }]`,
        "routes:",
        '  - { name: r, match: { paths: ["/items"] }, service: s, plugins: [{ name: request-validation, config: { spec: api/openapi.yaml } }] }',
        "",
      ].join("\n"),
    );
    const startup = await validateConfigFile(file);
    const gateway = new Gateway(startup);
    await gateway.start();
    const provider = new FileProvider({ file, control: gateway.control, startup });
    const seen: ReloadEvent[] = [];
    provider.on("reload", (event) => seen.push(event));
    const next = (match: (event: ReloadEvent) => boolean, what: string) =>
      nextReload(provider, match, what, seen);
    const port = gateway.addresses().proxy[0]!.port;
    const status = async (query: string) => {
      const res = await request(`http://127.0.0.1:${port}/items?${query}`);
      await res.body.dump();
      return res.statusCode;
    };
    try {
      const first = next(() => true, "the look taken when watching begins");
      provider.watch();
      await first;
      assert.equal(await status("limit=50"), 200);

      const applied = next((event) => event.result === "applied", "the edited limits.yaml");
      await writeFile(limits, limit(10));
      await applied;
      assert.equal(await status("limit=50"), 400);
      assert.equal(await status("limit=5"), 200);

      const refused = next((event) => event.result === "refused", "the broken limits.yaml");
      await writeFile(limits, "Other: { type: integer }\n");
      const event = (await refused) as ReloadEvent & { problems?: unknown };
      assert.match(
        JSON.stringify(event),
        /openapi\.yaml:7:\d+ .*\$ref \\?"\.\/limits\.yaml#\/Limit\\?" points at nothing/,
      );
      assert.equal(await status("limit=50"), 400, "the last good document still validates");

      const fixed = next((event) => event.result === "applied", "limits.yaml fixed");
      await writeFile(limits, limit(60));
      await fixed;
      assert.equal(await status("limit=50"), 200);
    } finally {
      provider.close();
      await gateway.stop();
    }
  });
});
