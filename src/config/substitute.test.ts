// `${env:NAME}`, `${file:PATH}` and `${enc:...}` references in config text: typed values,
// defaults, problems reported where they are written, and substituted values kept secret.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text holds ${env:...} references
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseGatewayConfig } from "../runtime/validate.ts";
import { ConfigError, formatProblem } from "./load.ts";
import { referencedFilesOf, secretsOf } from "./secret-values.ts";
import { encryptSecret, generateSecretKey, parseSecretKey } from "./secrets.ts";

/** Lines of a YAML file; line N of the file is argument N. */
const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

const accepted = (text: string, env: Record<string, string>) =>
  parseGatewayConfig(text, "gw.yaml", env);

/** The problems reported for `text`, as printed. */
function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    accepted(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  assert.fail("expected the config to be rejected");
}

const gateway = ["gateway:", "  listen: [{ port: 8080 }]"];

describe("${env:NAME} substitution", () => {
  it("gives a whole-scalar reference the type of its value", () => {
    const config = accepted(yaml("gateway:", "  listen:", "    - port: ${env:PORT}"), {
      PORT: "9000",
    });
    assert.equal(config.gateway.listen[0]!.port, 9000);
    // Quoted works the same, and is what flow collections need.
    const quoted = accepted(yaml("gateway:", '  listen: [{ port: "${env:PORT}" }]'), {
      PORT: "9001",
    });
    assert.equal(quoted.gateway.listen[0]!.port, 9001);
  });

  it("keeps a whole-scalar string value exactly as written: line breaks, # and quotes", () => {
    const pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ\n-----END PUBLIC KEY-----\n";
    for (const value of [pem, "pass #word", '"quoted key"', "key: value", "- listed key"]) {
      const config = accepted(
        yaml(...gateway, "consumers:", "  - { name: c, credentials: { keys: ['${env:KEY}'] } }"),
        { KEY: value },
      );
      assert.deepEqual(config.consumers[0]!.credentials!.keys, [value]);
    }
  });

  it("fills a reference inside a longer string", () => {
    const config = accepted(
      yaml(
        ...gateway,
        "services:",
        "  - name: s",
        "    targets: [{ url: 'http://${env:HOST}:9001' }]",
      ),
      { HOST: "10.0.0.5" },
    );
    assert.equal(config.services[0]!.targets![0]!.url, "http://10.0.0.5:9001");
  });

  it("uses the default when the variable is unset or empty", () => {
    const text = yaml(
      "gateway:",
      '  listen: [{ port: "${env:PORT:-8080}" }]',
      "  shutdownTimeout: ${env:GRACE:-7s}",
    );
    const envs: Record<string, string>[] = [{}, { PORT: "", GRACE: "" }];
    for (const env of envs) {
      const config = accepted(text, env);
      assert.equal(config.gateway.listen[0]!.port, 8080);
      assert.equal(config.gateway.shutdownTimeout, 7000);
    }
    assert.equal(accepted(text, { PORT: "1234" }).gateway.listen[0]!.port, 1234);
  });

  it("reports an unset variable at the reference, alongside other problems", () => {
    const text = yaml(
      "gateway:",
      "  listen:",
      "    - port: ${env:PORT}",
      "      host: a-${env:HOST_SUFFIX}",
      "  shutdownTimeout: never",
    );
    assert.deepEqual(problems(text), [
      "gw.yaml:3:13 environment variable PORT is not set (write ${env:PORT:-default} to give a default)",
      "gw.yaml:4:15 environment variable HOST_SUFFIX is not set (write ${env:HOST_SUFFIX:-default} to give a default)",
      "gw.yaml:5:20 gateway.shutdownTimeout: expected a duration like 250ms, 5s or 1m",
    ]);
  });
});

describe("${file:PATH} substitution", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-file-ref-"));
    await mkdir(join(dir, "secrets"));
    await writeFile(join(dir, "secrets", "api-key"), "key-from-a-file\n");
    await writeFile(join(dir, "secrets", "pin"), "00420042");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const consumerKey = (ref: string) =>
    yaml(...gateway, "consumers:", "  - name: alice", `    credentials: { keys: ["${ref}"] }`);

  it("reads the file relative to the config file, without its final newline", () => {
    const config = parseGatewayConfig(consumerKey("${file:secrets/api-key}"), join(dir, "gw.yaml"));
    assert.deepEqual(config.consumers[0]!.credentials!.keys, ["key-from-a-file"]);
    assert.ok(secretsOf(config).appearsIn("key-from-a-file"));
  });

  it("remembers the absolute path of every file read, for the file provider to watch", () => {
    const text = yaml(
      ...gateway,
      "consumers:",
      "  - name: alice",
      '    credentials: { keys: ["${file:secrets/api-key}", "${file:./secrets/pin}"] }',
      "  - name: bob",
      '    credentials: { keys: ["${file:secrets/api-key}"] }',
    );
    const config = parseGatewayConfig(text, join(dir, "gw.yaml"));
    assert.deepEqual(referencedFilesOf(config), [
      join(dir, "secrets", "api-key"),
      join(dir, "secrets", "pin"),
    ]);
    assert.deepEqual(referencedFilesOf(accepted(yaml(...gateway), {})), []);
  });

  it("keeps a whole-scalar file value a string, even when it looks like a number", () => {
    const config = parseGatewayConfig(consumerKey("${file:secrets/pin}"), join(dir, "gw.yaml"));
    assert.deepEqual(config.consumers[0]!.credentials!.keys, ["00420042"]);
  });

  it("reports a missing file at the reference", () => {
    const file = join(dir, "gw.yaml");
    try {
      parseGatewayConfig(consumerKey("${file:secrets/nope}"), file);
      assert.fail("expected the config to be rejected");
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(error.problems.map(formatProblem), [
        `${file}:5:28 \${file:secrets/nope}: file not found (${join(dir, "secrets", "nope")})`,
      ]);
    }
  });
});

describe("${enc:...} substitution", () => {
  const keyText = generateSecretKey();
  const key = parseSecretKey(keyText, "k");
  const env = { GATEHOUSE_SECRET_KEY: keyText };
  const reference = `\${enc:${encryptSecret("decrypted-api-key", key)}}`;
  const text = yaml(
    ...gateway,
    "consumers:",
    "  - name: alice",
    `    credentials: { keys: ["${reference}"] }`,
  );

  it("decrypts with the key from the environment and records the value as secret", () => {
    const config = accepted(text, env);
    assert.deepEqual(config.consumers[0]!.credentials!.keys, ["decrypted-api-key"]);
    assert.equal(secretsOf(config).redactText("k=decrypted-api-key"), "k=[redacted]");
  });

  it("reports a wrong key, a missing key and a tampered value at the reference", () => {
    const wrong = { GATEHOUSE_SECRET_KEY: generateSecretKey() };
    for (const [source, envFor, expected] of [
      [text, wrong, /not the one it was encrypted with/],
      [text, {}, /no secret key: set GATEHOUSE_SECRET_KEY/],
      [text.replace("${enc:v1.", "${enc:v1.A"), env, /malformed|altered/],
    ] as const) {
      const printed = problems(source, envFor);
      assert.equal(printed.length, 1, printed.join("\n"));
      assert.match(printed[0]!, /^gw\.yaml:5:28 \$\{enc:\.\.\.\}: /);
      assert.match(printed[0]!, expected);
      assert.ok(!printed[0]!.includes("decrypted-api-key"));
      assert.ok(!printed[0]!.includes(keyText));
    }
  });

  it("never echoes a substituted value in a validation message", () => {
    // A secret where a number belongs: the message names the value it got, blanked out.
    const bad = yaml("gateway:", `  listen: [{ port: "${reference}" }]`);
    assert.deepEqual(problems(bad, env), [
      'gw.yaml:2:20 gateway.listen[0].port: expected a number, got the string "[redacted]"',
    ]);
    const envBad = yaml("gateway:", '  listen: [{ port: "${env:PORT}" }]');
    assert.deepEqual(problems(envBad, { PORT: "hunter2-hunter2" }), [
      'gw.yaml:2:20 gateway.listen[0].port: expected a number, got the string "[redacted]"',
    ]);
  });
});
