// The jwt plugin's config mistakes, as `gatehouse validate` prints them: located at
// FILE:LINE:COL, before anything starts.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, formatProblem } from "../../config/load.ts";
import { parseGatewayConfig, validateConfigFile } from "../../runtime/validate.ts";

const rsaPem = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();
const pkcs1Pem = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .publicKey.export({ type: "pkcs1", format: "pem" })
  .toString();
const ecPem = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();

/** A config whose one route has the jwt plugin with `config` (YAML flow lines). */
const withJwt = (...config: string[]): string =>
  [
    "gateway:",
    "  listen: [{ port: 8080 }]",
    "services:",
    "  - name: users",
    "    targets: [{ url: http://127.0.0.1:9001 }]",
    "routes:",
    "  - name: api",
    '    match: { paths: ["/api/*"] }',
    "    service: users",
    "    plugins:",
    "      - name: jwt",
    "        config:",
    ...config.map((line) => `          ${line}`),
    "",
  ].join("\n");

function problems(text: string): string[] {
  try {
    parseGatewayConfig(text, "gw.yaml", {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems.map(formatProblem);
  }
  assert.fail("expected the config to be rejected");
}

describe("jwt config", () => {
  it("accepts each kind of key with algorithms that fit it", () => {
    const ok = [
      withJwt(`publicKey: ${JSON.stringify(rsaPem)}`, "algorithms: [RS256, PS256]"),
      withJwt(`publicKey: ${JSON.stringify(ecPem)}`, "algorithms: [ES256]"),
      withJwt(`publicKey: ${JSON.stringify(pkcs1Pem)}`, "algorithms: [RS256]"),
      withJwt(`secret: ${"k".repeat(32)}`, "algorithms: [HS256]"),
      withJwt(
        "jwksUri: https://issuer.example.com/.well-known/jwks.json",
        "algorithms: [RS256, ES256]",
      ),
    ];
    for (const text of ok) parseGatewayConfig(text, "gw.yaml", {});
  });

  it("locates a PEM that does not parse at its value", () => {
    const [problem] = problems(
      withJwt(
        'publicKey: "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----"',
        "algorithms: [RS256]",
      ),
    );
    assert.match(
      problem!,
      /^gw\.yaml:13:22 routes\[0\]\.plugins\[0\]\.config\.publicKey: not a PEM public key/,
    );
  });

  it("locates an HS algorithm listed with a publicKey at the algorithm", () => {
    assert.deepEqual(
      problems(withJwt(`publicKey: ${JSON.stringify(rsaPem)}`, "algorithms: [RS256, HS256]")),
      [
        "gw.yaml:14:31 routes[0].plugins[0].config.algorithms[1]: HS256 verifies with a secret, and this plugin has a publicKey",
      ],
    );
  });

  it("refuses a private key given as publicKey", () => {
    const privatePem = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    assert.deepEqual(
      problems(withJwt(`publicKey: ${JSON.stringify(privatePem)}`, "algorithms: [ES256]")),
      [
        "gw.yaml:13:22 routes[0].plugins[0].config.publicKey: this is a private key; give the issuer's public key (-----BEGIN PUBLIC KEY-----)",
      ],
    );
  });

  it("refuses a key that cannot verify a listed algorithm", () => {
    assert.deepEqual(
      problems(withJwt(`publicKey: ${JSON.stringify(ecPem)}`, "algorithms: [RS256]")),
      ["gw.yaml:13:22 routes[0].plugins[0].config.publicKey: RS256 needs an RSA key, not ec"],
    );
  });

  it('refuses "none" in any casing, two key sources, none at all, and a short secret', () => {
    assert.deepEqual(problems(withJwt("secret: x", "algorithms: [HS256, nOnE]")), [
      'gw.yaml:14:31 routes[0].plugins[0].config.algorithms[1]: "none" is never accepted: an unsigned token proves nothing',
    ]);
    assert.deepEqual(
      problems(
        withJwt(
          `secret: ${"k".repeat(32)}`,
          "jwksUri: https://a.example.com/jwks",
          "algorithms: [HS256]",
        ),
      ),
      [
        "gw.yaml:14:20 routes[0].plugins[0].config.jwksUri: set one of secret, publicKey or jwksUri, not secret and jwksUri",
      ],
    );
    assert.deepEqual(problems(withJwt("algorithms: [RS256]")), [
      "gw.yaml:13:11 routes[0].plugins[0].config: set one of secret, publicKey or jwksUri",
    ]);
    assert.deepEqual(problems(withJwt("secret: short", "algorithms: [HS256, HS512]")), [
      "gw.yaml:13:19 routes[0].plugins[0].config.secret: the secret is 5 bytes; HS256, HS512 need at least 64 (RFC 7518 §3.2), or it can be guessed from any token",
    ]);
  });

  it("reports a bad PEM from a file too, via validateConfigFile", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-jwt-"));
    try {
      const file = join(dir, "gw.yaml");
      await writeFile(file, withJwt('publicKey: "not a key"', "algorithms: [RS256]"));
      await assert.rejects(validateConfigFile(file, {}), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          formatProblem(error.problems[0]!),
          new RegExp(`^${file.replaceAll("/", "\\/")}:13:22 .*publicKey: not a PEM public key`),
        );
        return true;
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
