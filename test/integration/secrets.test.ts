// Secrets through the real `gatehouse` command: `secret generate-key` and `secret encrypt`
// make an `${enc:...}` consumer key, the gateway decrypts it at start and the key works;
// `${file:...}` does the same from a file. A wrong key, a missing key or a tampered value is a
// located error at start, and no plaintext reaches stdout, stderr or the log file.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configs hold ${enc:...} references
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const cliPath = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const DEADLINE_MS = 20_000;
const apiKey = "enc-consumer-key-5d1c9e";
const fileKey = "file-consumer-key-8b2f04";
// Part of a URL the gateway logs when it cannot fetch a key set: the process log must blank it.
const urlSecret = "jwks-signature-93ad41";

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** The CLI in a child process with `env` added to a copy of ours without any secret key. */
function spawnCli(args: string[], env: Record<string, string> = {}, stdin?: string): Run {
  const base = { ...process.env };
  delete base.GATEHOUSE_SECRET_KEY;
  delete base.GATEHOUSE_SECRET_KEY_FILE;
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { ...base, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  child.stdin!.end(stdin ?? "");
  const run: Run = { child, stdout: "", stderr: "", exited: Promise.resolve(null) };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    run.stdout += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    run.stderr += chunk;
  });
  run.exited = new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  return run;
}

/** Resolves with `promise`, or fails after the deadline naming `what` and the output so far. */
async function within<T>(promise: Promise<T>, what: string, run: Run): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}\n${run.stdout}\n${run.stderr}`)),
      DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function runCli(args: string[], env: Record<string, string> = {}, stdin?: string) {
  const run = spawnCli(args, env, stdin);
  const code = await within(run.exited, `gatehouse ${args.join(" ")}`, run);
  return { code, stdout: run.stdout, stderr: run.stderr };
}

/** Polls the log file until a line matches; bounded by the deadline. */
async function waitForLog(path: string, pattern: RegExp, run: Run): Promise<RegExpExecArray> {
  const started = Date.now();
  while (Date.now() - started < DEADLINE_MS) {
    const match = pattern.exec(await readFile(path, "utf8").catch(() => ""));
    if (match) return match;
    if (run.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no log line matching ${pattern}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
}

const assertNoPlaintext = (where: string, text: string) => {
  for (const secret of [apiKey, fileKey, urlSecret])
    assert.ok(!text.includes(secret), `${where} shows a secret: ${text}`);
};

describe("gatehouse secret", () => {
  let dir: string;
  let up: Upstream;
  let key: string;
  let reference: string;
  let urlReference: string;
  const path = (name: string) => join(dir, name);

  /** A config with two key-auth consumers: one key `${enc:...}`, one `${file:...}`. */
  const configText = (encRef: string, keyFileRef = "${file:keys/bob}") =>
    [
      "gateway:",
      "  listen: [{ host: 127.0.0.1, port: 0 }]",
      `  log: { level: info, destination: "${path("gateway.log")}" }`,
      "services:",
      `  - { name: echo, targets: [{ url: "${up.url}" }] }`,
      "routes:",
      "  - name: api",
      "    match: { paths: [/api/*] }",
      "    service: echo",
      "    plugins: [{ name: key-auth }]",
      "  - name: signed",
      "    match: { paths: [/signed/*] }",
      "    service: echo",
      "    plugins:",
      "      - name: jwt",
      "        config:",
      "          algorithms: [RS256]",
      `          jwksUri: "http://127.0.0.1:9/jwks?sig=${urlReference}"`,
      "consumers:",
      `  - { name: alice, credentials: { keys: ["${encRef}"] } }`,
      `  - { name: bob, credentials: { keys: ["${keyFileRef}"] } }`,
      "",
    ].join("\n");

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-secrets-"));
    await mkdir(path("keys"));
    await writeFile(path("keys/bob"), `${fileKey}\n`);
    up = await startUpstream(echo);
    const generated = await runCli(["secret", "generate-key"]);
    assert.equal(generated.code, 0, generated.stderr);
    key = generated.stdout.trim();
    assert.match(key, /^[A-Za-z0-9+/]{43}=$/);
    // The plaintext goes in on stdin, as the docs advise, so it stays out of shell history.
    const encrypted = await runCli(
      ["secret", "encrypt"],
      { GATEHOUSE_SECRET_KEY: key },
      `${apiKey}\n`,
    );
    assert.equal(encrypted.code, 0, encrypted.stderr);
    reference = encrypted.stdout.trim();
    assert.match(reference, /^\$\{enc:v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\}$/);
    assertNoPlaintext("encrypt's output", encrypted.stdout + encrypted.stderr);
    const again = await runCli(["secret", "encrypt"], { GATEHOUSE_SECRET_KEY: key }, urlSecret);
    assert.equal(again.code, 0, again.stderr);
    urlReference = again.stdout.trim();
  });
  after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts with the key in the environment; the encrypted and the file key both work", async () => {
    await writeFile(path("good.yaml"), configText(reference));
    const run = spawnCli(["start", "-c", path("good.yaml")], { GATEHOUSE_SECRET_KEY: key });
    const [, address] = await waitForLog(
      path("gateway.log"),
      /"msg":"proxy listening on ([^"]+)"/,
      run,
    );
    const call = async (apiKeyHeader: string) => {
      const response = await request(`http://${address}/api/hello`, {
        headers: { "x-api-key": apiKeyHeader },
      });
      const body = await response.body.text();
      return { status: response.statusCode, body };
    };
    const alice = await call(apiKey);
    assert.equal(alice.status, 200, alice.body);
    assert.equal((await call(fileKey)).status, 200);
    assert.equal((await call("not-the-key-at-all")).status, 401);
    // The ciphertext itself is not a key.
    assert.equal((await call(reference.slice(6, -1))).status, 401);
    // A token makes the jwt plugin fetch its key set from a closed port; the warning it
    // logs names the URL, with the decrypted part blanked out.
    const part = (json: object) => Buffer.from(JSON.stringify(json)).toString("base64url");
    const token = `${part({ alg: "RS256", kid: "k1" })}.${part({ sub: "x" })}.c2lnbmF0dXJl`;
    const signed = await request(`http://${address}/signed/x`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await signed.body.dump();
    const [warning] = await waitForLog(path("gateway.log"), /.*could not fetch the key set.*/, run);
    assert.match(warning, /"url":"http:\/\/127\.0\.0\.1:9\/jwks\?sig=\[redacted\]"/);

    run.child.kill("SIGTERM");
    assert.equal(await within(run.exited, "gatehouse to stop", run), 0, run.stderr);
    assertNoPlaintext("stdout", run.stdout);
    assertNoPlaintext("stderr", run.stderr);
    assertNoPlaintext("the log file", await readFile(path("gateway.log"), "utf8"));
  });

  it("encrypt refuses to run without a key, and takes --value for scripts", async () => {
    const keyless = await runCli(["secret", "encrypt"], {}, "anything");
    assert.equal(keyless.code, 1);
    assert.match(keyless.stderr, /^gatehouse: no secret key: set GATEHOUSE_SECRET_KEY/);
    assert.equal(keyless.stdout, "");
    const empty = await runCli(["secret", "encrypt"], { GATEHOUSE_SECRET_KEY: key }, "");
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no value to encrypt/);
    const given = await runCli(["secret", "encrypt", "--value", apiKey], {
      GATEHOUSE_SECRET_KEY: key,
    });
    assert.equal(given.code, 0, given.stderr);
    assert.match(given.stdout, /^\$\{enc:v1\./);
    assert.notEqual(given.stdout.trim(), reference, "a new IV every time");
  });

  it("takes the key from GATEHOUSE_SECRET_KEY_FILE too", async () => {
    await writeFile(path("secret.key"), `${key}\n`);
    await writeFile(path("good.yaml"), configText(reference));
    const result = await runCli(["validate", "-c", path("good.yaml")], {
      GATEHOUSE_SECRET_KEY_FILE: path("secret.key"),
    });
    assert.equal(result.code, 0, result.stderr);
  });

  /** Starting with `config` fails, each problem located; no plaintext anywhere. */
  async function refusedAtStart(config: string, env: Record<string, string>): Promise<string[]> {
    const file = path("refused.yaml");
    await writeFile(file, config);
    await rm(path("gateway.log"), { force: true });
    const result = await runCli(["start", "-c", file], env);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assertNoPlaintext("stdout", result.stdout);
    assertNoPlaintext("stderr", result.stderr);
    assertNoPlaintext("the log file", await readFile(path("gateway.log"), "utf8").catch(() => ""));
    assert.ok(!result.stderr.includes(key), "the key is not printed");
    return result.stderr.trimEnd().split("\n");
  }

  it("refuses to start with the wrong key, at the reference's line and column", async () => {
    const lines = await refusedAtStart(configText(reference), {
      GATEHOUSE_SECRET_KEY: Buffer.alloc(32, 1).toString("hex"),
    });
    const wrong =
      "cannot decrypt: the secret key is not the one it was encrypted with, or the value was altered";
    assert.deepEqual(lines, [
      `${path("refused.yaml")}:18:49 \${enc:...}: ${wrong}`,
      `${path("refused.yaml")}:20:43 \${enc:...}: ${wrong}`,
    ]);
  });

  it("refuses a tampered value and a missing key", async () => {
    // One character of the ciphertext changed: GCM's tag no longer matches.
    const parts = reference.slice(6, -1).split(".");
    const body = parts[2]!;
    parts[2] = (body[0] === "A" ? "B" : "A") + body.slice(1);
    const tampered = `\${enc:${parts.join(".")}}`;
    const lines = await refusedAtStart(configText(tampered), { GATEHOUSE_SECRET_KEY: key });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /refused\.yaml:20:43 \$\{enc:\.\.\.\}: cannot decrypt: .* altered$/);

    const missing = await refusedAtStart(configText(reference), {});
    assert.equal(missing.length, 2, "both references are reported");
    assert.match(
      missing[1]!,
      /refused\.yaml:20:43 \$\{enc:\.\.\.\}: no secret key: set GATEHOUSE_SECRET_KEY/,
    );
  });

  it("refuses a ${file:...} reference to a missing file, located", async () => {
    const lines = await refusedAtStart(configText(reference, "${file:keys/nobody}"), {
      GATEHOUSE_SECRET_KEY: key,
    });
    assert.deepEqual(lines, [
      `${path("refused.yaml")}:21:41 \${file:keys/nobody}: file not found (${path("keys/nobody")})`,
    ]);
  });
});
