import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { configHash } from "../observability/config-revision.ts";
import { validateConfigFile } from "../runtime/validate.ts";
import { adoptCheckedConfig, checkedConfigOf } from "./checked-config.ts";
import { configOriginOf } from "./document.ts";
import { referencedFilesOf, secretsOf } from "./secret-values.ts";

describe("checked config", () => {
  it("survives structured cloning: its origin, secrets and referenced files arrive with the config", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-checked-"));
    try {
      const secret = `key-${process.pid}-checked-config-secret`;
      await writeFile(join(dir, "api-key"), secret);
      const file = join(dir, "gatehouse.yaml");
      const reference = ["$", "{file:api-key}"].join("");
      await writeFile(
        file,
        [
          "gateway: { listen: [{ port: 0 }] }",
          "services: [{ name: users, targets: [{ url: 'http://127.0.0.1:9001' }] }]",
          "routes: [{ name: users, match: { paths: ['/users/*'] }, service: users }]",
          "consumers:",
          `  - { name: app, credentials: { keys: ["${reference}"] } }`,
          "",
        ].join("\n"),
      );
      const config = await validateConfigFile(file);
      const clone = structuredClone(checkedConfigOf(config));
      assert.equal(configOriginOf(clone.config), undefined, "a bare clone knows nothing yet");

      const adopted = adoptCheckedConfig(clone);
      assert.notEqual(adopted, config);
      assert.deepEqual(adopted, config);
      assert.equal(configHash(adopted), configHash(config));
      assert.deepEqual(configOriginOf(adopted), configOriginOf(config));
      assert.equal(configOriginOf(adopted)?.file, file);
      assert.deepEqual(referencedFilesOf(adopted), [join(dir, "api-key")]);
      assert.ok(secretsOf(adopted).has(secret), "the secret substituted into it is known as one");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("of a config made in code: no origin, no secrets", () => {
    const made = { gateway: {}, services: [], routes: [], consumers: [], plugins: [] };
    const checked = checkedConfigOf(made as never);
    assert.deepEqual(
      { origin: checked.origin, secrets: checked.secrets, files: checked.files },
      { origin: undefined, secrets: [], files: [] },
    );
  });
});
