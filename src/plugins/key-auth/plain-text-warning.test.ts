// key-auth and basic-auth warn about credentials written in plain text in the config file,
// and only about those: a key or password from a `${env:…}`, `${file:…}` or `${enc:…}`
// reference is not in the file.
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import pino from "pino";
import { parseConfig } from "../../config/load.ts";
import { encryptSecret, generateSecretKey, parseSecretKey } from "../../config/secrets.ts";
import type { GatehouseConfig } from "../../index.ts";
import type { PluginDefinition } from "../../pipeline/plugin.ts";
import { silentTelemetry } from "../../pipeline/telemetry.ts";
import { RedisConnections } from "../../stores/redis.ts";
import { basicAuthPlugin } from "../basic-auth/index.ts";
import { keyAuthPlugin } from "./index.ts";

/** The warnings `plugin` logs when created for `config`'s consumers. */
function warningsAtCreate(plugin: PluginDefinition, config: GatehouseConfig): object[] {
  const lines: object[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const log = pino({ level: "warn" }, sink);
  // pino writes synchronously to a plain Writable, so the lines are there when create returns.
  plugin.create(plugin.schema.parse({}), {
    level: "global",
    name: "",
    baseDir: process.cwd(),
    consumers: config.consumers,
    stores: config.gateway.stores,
    redis: new RedisConnections(),
    telemetry: silentTelemetry,
    log,
  });
  return lines;
}

describe("plain-text credential warnings", () => {
  it("name only the consumers whose credentials are written in the file as they are", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-plain-"));
    await writeFile(join(dir, "carol.key"), "carol-key-from-file");
    await writeFile(join(dir, "carol.password"), "carol-password-from-file");
    const secretKey = generateSecretKey();
    const key = parseSecretKey(secretKey, "test");
    const env = {
      GATEHOUSE_SECRET_KEY: secretKey,
      BOB_KEY: "bob-key-from-env",
      BOB_PASSWORD: "bob-password-from-env",
    };
    const config = parseConfig(
      `
gateway: { listen: [{ port: 8080 }] }
consumers:
  - name: alice
    credentials:
      keys: ["\${enc:${encryptSecret("alice-key-encrypted", key)}}"]
      basic: [{ username: alice, password: "\${enc:${encryptSecret("alice-password", key)}}" }]
  - name: bob
    credentials:
      keys: ["\${env:BOB_KEY}"]
      basic: [{ username: bob, password: "\${env:BOB_PASSWORD}" }]
  - name: carol
    credentials:
      keys: ["\${file:carol.key}"]
      basic: [{ username: carol, password: "\${file:carol.password}" }]
  - name: dave
    credentials:
      keys: ["sha256:${"0".repeat(64)}", dave-plain-key]
      basic: [{ username: dave, password: dave-plain-password }]
`,
      join(dir, "gatehouse.yaml"),
      { env },
    );
    for (const plugin of [keyAuthPlugin, basicAuthPlugin]) {
      const warnings = warningsAtCreate(plugin, config) as { consumers: string[] }[];
      assert.equal(warnings.length, 1, plugin.name);
      assert.deepEqual(warnings[0]!.consumers, ["dave"], plugin.name);
    }
  });
});
