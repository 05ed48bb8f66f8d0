// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the config holds literal ${env:…} and ${file:…} references
// Secrets never leave through the control plane: with credentials coming from the
// environment, from a file and written literally, a session of admin reads, writes, a
// refused change that quotes a secret, a diff and a rollback leaves no secret value in any
// admin answer, the process log, the audit trail, or the config file written back (which
// keeps the references as written). The audit trail records every attempt with its actor.
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const consumerKey = "env-consumer-key-7f3a9c";
const adminKey = "env-admin-key-0b1d2e3f4a5b";
const jwtSecret = "file-jwt-secret-5e6f7a8b9c0d1e2f";
const literalKey = "literal-consumer-key-4c5d";
// Under names no list of credential fields has, and in a URL's query.
const metadataToken = "metadata-token-8e7d6c5b";
const urlApiKey = "url-api-key-1a2b3c4d";
const secrets = [consumerKey, adminKey, jwtSecret, literalKey, metadataToken, urlApiKey];

describe("secrets through the admin API, log and audit trail", () => {
  let upstream: Upstream;
  let gw: AdminGateway;
  let dir: string;
  const answers: string[] = [];
  /** The config file as the gateway started from it. */
  let text: string;
  const auth = { authorization: `Bearer ${adminKey}` };

  before(async () => {
    upstream = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), "gatehouse-admin-secrets-"));
    await writeFile(join(dir, "jwt-secret"), `${jwtSecret}\n`);
    process.env.GH_TEST_CONSUMER_KEY = consumerKey;
    process.env.GH_TEST_ADMIN_KEY = adminKey;
    text = [
      "gateway:",
      "  listen: [{ host: 127.0.0.1, port: 0 }]",
      '  admin: { port: 0, keys: [{ id: ops, key: "${env:GH_TEST_ADMIN_KEY}" }] }',
      `  log: { level: debug, destination: "${join(dir, "gatehouse.log")}" }`,
      `  audit: { path: "${join(dir, "audit.log")}" }`,
      "  reload: { watch: false }",
      "  shutdownTimeout: 200ms",
      "  accessLog: { enabled: false }",
      "services:",
      "  - name: users",
      `    targets: [{ url: "${upstream.url}", metadata: { zone: a, apiToken: ${metadataToken} } }]`,
      "routes:",
      "  - name: users-api",
      '    match: { paths: ["/users"] }',
      "    service: users",
      '    plugins: [{ name: jwt, config: { secret: "${file:jwt-secret}", algorithms: [HS256] } }]',
      "  - name: introspected",
      '    match: { paths: ["/introspected"] }',
      "    service: users",
      "    plugins:",
      "      - name: oauth2-introspection",
      "        config:",
      `          introspectionUrl: "https://auth.example/introspect?api_key=${urlApiKey}&v=2"`,
      '          authorization: "Basic Z2F0ZWhvdXNlOnRlc3Q="',
      "consumers:",
      '  - { name: alice, credentials: { keys: ["${env:GH_TEST_CONSUMER_KEY}"] } }',
      `  - { name: bob, credentials: { keys: ["${literalKey}"] } }`,
      "",
    ].join("\n");
    gw = await startAdminGateway(text, { dir });
    const call = async (method: string, path: string, body?: unknown) => {
      const answer = await gw.admin(method, path, body, auth);
      answers.push(`${method} ${path} → ${answer.status} ${answer.text}`);
      return answer;
    };
    for (const path of [
      "/config",
      "/config?format=yaml",
      "/consumers",
      "/consumers/alice",
      "/routes/users-api",
      "/config/versions/1",
      "/runtime",
      "/runtime/services/users",
    ])
      assert.equal((await call("GET", path)).status, 200, answers.at(-1));
    assert.equal(
      (
        await call("POST", "/consumers", {
          name: "carol",
          credentials: { keys: ["carol-key-12345678"] },
        })
      ).status,
      201,
    );
    // A refused change whose problem would quote a secret if nothing redacted it.
    const refused = await call("PATCH", "/routes/users-api", { service: consumerKey });
    assert.equal(refused.status, 400);
    assert.equal((await call("GET", "/config/versions/2/diff?against=1")).status, 200);
    assert.equal((await call("POST", "/config/rollback/1")).status, 200);
    assert.equal((await gw.admin("GET", "/config")).status, 401);
  });
  after(async () => {
    await gw.stop();
    delete process.env.GH_TEST_CONSUMER_KEY;
    delete process.env.GH_TEST_ADMIN_KEY;
    await removeDir(dir);
    await upstream.close();
  });

  const assertNoSecret = (where: string, text: string) => {
    for (const secret of secrets)
      assert.ok(!text.includes(secret), `${secret} appears in ${where}:\n${text}`);
  };

  it("keeps every secret out of the admin API's answers", () => {
    assert.ok(answers.length >= 10);
    for (const answer of answers) assertNoSecret("an admin answer", answer);
    assert.ok(answers.some((answer) => answer.includes("${env:GH_TEST_CONSUMER_KEY}")));
    assert.ok(answers.some((answer) => answer.includes("[redacted]")));
  });

  it("shows what it redacted: the metadata's zone, the URL with its key blanked", async () => {
    const service = answers.find((answer) => answer.startsWith("GET /runtime/services/users "));
    const { metadata } = JSON.parse(service!.slice(service!.indexOf("{"))).targets[0];
    assert.deepEqual(metadata, { zone: "a", apiToken: "[redacted]" });
    const route = answers.find((answer) => answer.startsWith("GET /config "));
    assert.ok(
      route?.includes("https://auth.example/introspect?api_key=[redacted]&v=2"),
      "the URL as written, its key blanked",
    );
  });

  it("warns at load, FILE:LINE:COL, about the key in the URL, without quoting it", async () => {
    const lines = (await readFile(join(dir, "gatehouse.log"), "utf8")).trim().split("\n");
    const warnings = lines.map((line) => JSON.parse(line)).filter((line) => line.level === "warn");
    const written = text.split("\n");
    const line = written.findIndex((text) => text.includes("introspectionUrl:")) + 1;
    const col = written[line - 1]!.indexOf('"') + 1;
    const expected = `${gw.file}:${line}:${col} routes[1].plugins[0].config.introspectionUrl: the URL has api_key= in its query; write the secret as a \${env:…}, \${file:…} or \${enc:…} reference`;
    assert.ok(
      warnings.some((warning) => String(warning.msg).startsWith(expected)),
      `${expected}\n${JSON.stringify(warnings)}`,
    );
  });

  it("keeps every secret out of the process log and the audit trail", async () => {
    assertNoSecret("the process log", await readFile(join(dir, "gatehouse.log"), "utf8"));
    assertNoSecret("the audit trail", await readFile(join(dir, "audit.log"), "utf8"));
  });

  it("writes references back to the config file, not the values they resolve to", async () => {
    const text = await readFile(gw.file, "utf8");
    for (const secret of [consumerKey, adminKey, jwtSecret]) assert.ok(!text.includes(secret));
    assert.match(text, /\$\{env:GH_TEST_CONSUMER_KEY\}/);
    assert.match(text, /\$\{file:jwt-secret\}/);
  });

  it("audits every attempt, accepted or refused, with who, what and which version", async () => {
    const records = (await readFile(join(dir, "audit.log"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const actions = records.map((r) => `${r.action}:${r.result}`);
    assert.deepEqual(actions, [
      "consumer.create:accepted",
      "route.update:rejected",
      "config.rollback:accepted",
    ]);
    const [created, rejected, rollback] = records;
    assert.equal(created.actor, "ops");
    assert.equal(created.source, "admin");
    assert.equal(created.version, 2);
    assert.equal(created.previousVersion, 1);
    assert.deepEqual(created.resources, [{ kind: "consumer", name: "carol", change: "created" }]);
    assert.match(created.time, /^\d{4}-\d\d-\d\dT/);
    assert.ok(created.requestId);
    assert.equal(created.remoteAddress, "127.0.0.1");
    assert.equal(rejected.version, 2);
    assert.ok(rejected.problems.length > 0);
    assert.equal(rollback.version, 3);
    assert.deepEqual(rollback.resources, [{ kind: "consumer", name: "carol", change: "deleted" }]);
  });
});
