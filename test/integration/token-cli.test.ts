// `gatehouse token` against a real gateway with the jwt plugin: the example beside the
// plugin in docs/plugins.md run as written (bash, npx, curl), and a key pair's token.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text holds ${env:...} references
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { jwtVerify } from "jose";
import { request } from "undici";
import { parse as parseYaml } from "yaml";
import { Gateway } from "../../src/gateway.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { runGatehouse } from "../helpers/cli.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "gatehouse-token-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The jwt section's "Trying it" paragraph onwards: its YAML config and its shell lines. */
function tokenExample(): { yaml: string; sh: string } {
  const docs = readFileSync(join(root, "docs/plugins.md"), "utf8");
  const start = docs.indexOf("**Trying it: `gatehouse token`.**");
  assert.ok(start > docs.indexOf("### jwt"), "the example sits in the jwt section");
  const section = docs.slice(start, docs.indexOf("\n### ", start));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const sh = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml && sh, "the example has a config and shell lines");
  return { yaml, sh };
}

/** Starts a gateway on the config as written, on a free port, in front of `upstream`. */
async function startFromDocs(yaml: string, upstream: Upstream, env: Record<string, string>) {
  const config = parseYaml(yaml) as {
    gateway: Record<string, unknown>;
    services: { targets: { url: string }[] }[];
  };
  assert.equal(config.services.length, 1);
  config.services[0]!.targets = [{ url: upstream.url }];
  config.gateway.listen = [{ host: "127.0.0.1", port: 0 }];
  config.gateway.log = { level: "silent" };
  config.gateway.accessLog = { enabled: false };
  const gateway = new Gateway(parseGatewayConfig(JSON.stringify(config), "docs/plugins.md", env));
  await gateway.start();
  return { gateway, port: gateway.addresses().proxy[0]!.port };
}

/** Runs shell lines with bash, in the project (so `npx gatehouse` is this one), to the end. */
function bash(script: string, env: Record<string, string>) {
  const path = [join(root, "node_modules/.bin"), process.env.PATH].join(delimiter);
  const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
    cwd: root,
    env: { ...process.env, ...env, PATH: path },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("gatehouse token", () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(() => upstream.close());

  it("docs/plugins.md: a token for alice passes the route, one with another secret is a 401", async () => {
    const { yaml, sh } = tokenExample();
    const curl = spawnSync("curl", ["--version"]);
    assert.equal(
      curl.error,
      undefined,
      "curl not found: install it with `apt-get install -y curl` (.ci/run does this)",
    );
    const env = { JWT_SECRET: randomBytes(32).toString("base64") };
    const { gateway, port } = await startFromDocs(yaml, upstream, env);
    try {
      assert.match(sh, /127\.0\.0\.1:8080/);
      const run = await bash(sh.replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`), env);
      assert.equal(run.code, 0, run.stderr);
      // curl -i: each response's status line, headers, blank line, body.
      const responses = run.stdout.split(/(?=HTTP\/1\.1 \d{3} )/);
      assert.deepEqual(
        responses.map((response) => Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1])),
        [200, 401],
      );
      const seen = JSON.parse(responses[0]!.split("\r\n\r\n")[1]!) as {
        url: string;
        headers: Record<string, string>;
      };
      assert.equal(seen.url, "/api/orders");
      assert.equal(seen.headers["x-consumer-name"], "alice");
      assert.equal(seen.headers.authorization, undefined, "the token is not forwarded");
      assert.match(responses[1]!, /"code":"GATEHOUSE_INVALID_TOKEN"/);
    } finally {
      await gateway.stop();
    }
  });

  it("signs with a private key file; the route verifies with the public key", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const keyFile = join(scratch, "private.pem");
    writeFileSync(keyFile, privateKey.export({ format: "pem", type: "pkcs8" }));
    const publicPem = publicKey.export({ format: "pem", type: "spki" }) as string;
    const yaml = [
      "gateway: { listen: [{ host: 127.0.0.1, port: 8080 }] }",
      "services: [{ name: orders, targets: [{ url: http://127.0.0.1:9001 }] }]",
      "routes:",
      "  - name: orders",
      "    match: { paths: [/api/*] }",
      "    service: orders",
      "    plugins:",
      "      - name: jwt",
      "        config:",
      "          algorithms: [ES256]",
      "          issuer: https://auth.example.com/",
      "          audience: orders-api",
      "          requiredClaims: [scope]",
      "          publicKey: ${env:PUBLIC_KEY}",
    ].join("\n");
    const { gateway, port } = await startFromDocs(yaml, upstream, { PUBLIC_KEY: publicPem });
    try {
      const claims = ["--iss", "https://auth.example.com/", "--aud", "orders-api"];
      const signed = await runGatehouse([
        "token",
        ...["--key", keyFile, ...claims, "--claim", "scope=orders:read"],
      ]);
      assert.equal(signed.stderr, "");
      assert.match(signed.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, "the token alone on stdout");
      const call = (token: string) =>
        request(`http://127.0.0.1:${port}/api/x`, {
          headers: { authorization: `Bearer ${token.trim()}` },
        });
      const ok = await call(signed.stdout);
      assert.equal(ok.statusCode, 200);
      await ok.body.dump();

      const noScope = await runGatehouse(["token", "--key", keyFile, ...claims]);
      const refused = await call(noScope.stdout);
      assert.equal(refused.statusCode, 401);
      assert.match(await refused.body.text(), /GATEHOUSE_TOKEN_CLAIMS_REJECTED/);

      const expired = await runGatehouse([
        "token",
        "--key",
        keyFile,
        ...claims,
        ...["--claim", "scope=orders:read", "--claim", "exp=1"],
      ]);
      const old = await call(expired.stdout);
      assert.equal(old.statusCode, 401);
      assert.match(await old.body.text(), /GATEHOUSE_TOKEN_EXPIRED/);
    } finally {
      await gateway.stop();
    }
  });

  it("says what is wrong in one line, exit 1, nothing on stdout", async () => {
    const cases: [string[], string][] = [
      [["token"], "gatehouse: give exactly one of --secret, --secret-file and --key\n"],
      [
        ["token", "--secret", "x", "--key", "k.pem"],
        "gatehouse: give exactly one of --secret, --secret-file and --key\n",
      ],
      [
        ["token", "--key", join(scratch, "missing.pem")],
        `gatehouse: cannot read ${join(scratch, "missing.pem")}: file not found\n`,
      ],
      [
        ["token", "--secret", "too-short"],
        "gatehouse: the secret is 9 bytes; HS256 needs at least 32 (RFC 7518 §3.2)\n",
      ],
    ];
    for (const [args, stderr] of cases) {
      assert.deepEqual(await runGatehouse(args), { code: 1, stdout: "", stderr }, args.join(" "));
    }
  });

  it("reads a secret from a file without its final newline", async () => {
    const secret = "0123456789abcdef0123456789abcdef";
    const file = join(scratch, "secret");
    writeFileSync(file, `${secret}\n`);
    const signed = await runGatehouse(["token", "--secret-file", file, "--no-expires"]);
    assert.equal(signed.code, 0, signed.stderr);
    const { payload } = await jwtVerify(signed.stdout.trim(), new TextEncoder().encode(secret));
    assert.deepEqual(Object.keys(payload), ["iat"]);
  });
});
