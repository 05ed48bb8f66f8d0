// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the files hold literal ${env:…} references
// `gatehouse config diff|versions|rollback` through the real command: diffs of real files
// (exit codes, output, secrets never printed) and the admin API clients.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Gateway } from "../../src/gateway.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { type CliRun, runGatehouse } from "../helpers/cli.ts";

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-config-cli-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the CLI to completion. One at a time and with time to spare: on a loaded machine
 * Node alone can take seconds to start the command.
 */
function gatehouse(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runGatehouse(args, { env, timeoutMs: 60_000 });
}

/** Writes `lines` to a file in the test directory and returns its path. */
async function file(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join("\n")}\n`);
  return path;
}

/** A config whose consumer has a literal key and a `${env:…}` reference. */
function config(options: { port: number; limit: number; key: string; route?: boolean }): string[] {
  return [
    "gateway:",
    `  listen: [{ host: 127.0.0.1, port: ${options.port} }]`,
    "services:",
    "  - name: users",
    "    targets: [{ url: http://127.0.0.1:9001 }]",
    "routes:",
    "  - name: users-api",
    '    match: { paths: ["/api/users", "/api/users/*"] }',
    "    service: users",
    "    plugins:",
    `      - { name: rate-limit, config: { limit: ${options.limit}, window: 1m } }`,
    ...(options.route
      ? ["  - name: orders-api", "    match: { paths: [/api/orders] }", "    service: users"]
      : []),
    "consumers:",
    "  - name: bob",
    `    credentials: { keys: ["${options.key}", "\${env:BOB_KEY}"] }`,
  ];
}

describe("gatehouse config diff", () => {
  it("prints each changed resource and exits 1; the literal key never, the reference as written", async () => {
    const a = await file("a.yaml", config({ port: 8080, limit: 100, key: "bob-literal-key-0001" }));
    const b = await file(
      "b.yaml",
      config({ port: 8081, limit: 200, key: "bob-literal-key-0002", route: true }),
    );
    // The reference must not be resolved, even where it could be.
    const run = await gatehouse(["config", "diff", a, b], { BOB_KEY: "bob-env-key-9" });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(
      run.stdout,
      [
        "~ route users-api",
        "    plugins[rate-limit].config.limit: 100 → 200",
        "+ route orders-api",
        "~ consumer bob",
        '    credentials.keys[0]: "[redacted]" → "[redacted]"',
        "~ gateway (static: applied at the next restart)",
        "    listen[0].port: 8080 → 8081",
        "",
      ].join("\n"),
    );
    for (const secret of ["bob-literal-key", "bob-env-key-9"])
      assert.ok(!run.stdout.includes(secret), `${secret} printed: ${run.stdout}`);

    const added = await file("c.yaml", [
      ...config({ port: 8080, limit: 100, key: "bob-literal-key-0001" }),
      "  - { name: carol, credentials: { keys: [carol-literal-key-1, '${env:CAROL_KEY}'] } }",
    ]);
    const json = await gatehouse(["config", "diff", "--json", a, added]);
    assert.equal(json.code, 1, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      resources: [{ kind: "consumer", name: "carol", change: "created", fields: [] }],
      gateway: [],
    });
    const fields = await gatehouse(["config", "diff", added, a]);
    assert.equal(fields.stdout, "- consumer carol\n");
  });

  it("prints (no changes) and exits 0 for files that differ only in layout", async () => {
    const a = await file("same-a.yaml", config({ port: 8080, limit: 100, key: "k-000000000001" }));
    const b = await file("same-b.json", [
      JSON.stringify({
        gateway: { listen: [{ host: "127.0.0.1", port: 8080 }] },
        services: [{ name: "users", targets: [{ url: "http://127.0.0.1:9001" }] }],
        routes: [
          {
            name: "users-api",
            match: { paths: ["/api/users", "/api/users/*"] },
            service: "users",
            plugins: [{ name: "rate-limit", config: { limit: 100, window: "1m" } }],
          },
        ],
        consumers: [{ name: "bob", credentials: { keys: ["k-000000000001", "${env:BOB_KEY}"] } }],
      }),
    ]);
    const run = await gatehouse(["config", "diff", a, b]);
    assert.deepEqual([run.code, run.stdout, run.stderr], [0, "(no changes)\n", ""]);
  });

  it("exits 2 naming FILE:LINE:COL for a YAML error, and for a file that is not there", async () => {
    const a = await file("ok.yaml", config({ port: 8080, limit: 100, key: "k-000000000001" }));
    const broken = await file("broken.yaml", [
      "routes:",
      "  - name: x",
      "    service: a",
      "    service: b",
    ]);
    const missing = join(dir, "missing.yaml");
    const syntax = await gatehouse(["config", "diff", a, broken]);
    const absent = await gatehouse(["config", "diff", missing, a]);
    const usage = await gatehouse(["config", "diff", a]);
    assert.equal(syntax.code, 2);
    assert.equal(syntax.stdout, "");
    // The same words and place as `gatehouse validate` gives.
    assert.equal(syntax.stderr, `${broken}:4:5 YAML syntax: Map keys must be unique\n`);

    assert.deepEqual([absent.code, absent.stderr], [2, `${missing}:1:1 config file not found\n`]);

    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument 'b'/);
  });
});

describe("gatehouse config versions|rollback", () => {
  const key = "ops-admin-key-0123456789";
  let gateway: Gateway;
  let admin: string;

  before(async () => {
    const path = await file("admin.yaml", [
      "gateway:",
      "  listen: [{ host: 127.0.0.1, port: 0 }]",
      `  admin: { host: 127.0.0.1, port: 0, keys: [{ id: ops, key: ${key} }] }`,
      "  log: { level: silent }",
      "  accessLog: { enabled: false }",
      "services:",
      "  - { name: s, targets: [{ url: http://127.0.0.1:9 }] }",
      "routes:",
      "  - { name: first, match: { paths: [/first] }, service: s }",
    ]);
    gateway = new Gateway(await validateConfigFile(path));
    await gateway.start();
    admin = `http://127.0.0.1:${gateway.addresses().admin!.port}`;
    // Versions 2 and 3, made through the admin API as an operator would.
    for (const name of ["second", "third"]) {
      const response = await adminCall("POST", "/routes", {
        name,
        match: { paths: [`/${name}`] },
        service: "s",
      });
      assert.equal(response.status, 201, await response.text());
    }
  });

  after(async () => {
    await gateway?.stop();
  });

  function adminCall(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${admin}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  }

  it("lists the kept versions newest first, the serving one marked", async () => {
    const run = await gatehouse(["config", "versions", "--admin", admin], {
      GATEHOUSE_ADMIN_KEY: key,
    });
    assert.equal(run.code, 0, run.stderr);
    const { versions } = (await (await adminCall("GET", "/config/versions")).json()) as {
      versions: { version: number; hash: string; appliedAt: string }[];
    };
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^ +VERSION +APPLIED AT +SOURCE +ACTOR +HASH$/);
    const rows = lines.slice(1).map((line) => line.split(/ +/));
    assert.deepEqual(rows, [
      ["*", "3", versions[0]!.appliedAt, "admin", "ops", versions[0]!.hash],
      ["", "2", versions[1]!.appliedAt, "admin", "ops", versions[1]!.hash],
      ["", "1", versions[2]!.appliedAt, "start", "startup", versions[2]!.hash],
    ]);
  });

  it("rolls back to a kept version, which then serves as a new version", async () => {
    const run = await gatehouse(["config", "rollback", "1", "--admin", admin, "--key", key]);
    assert.equal(run.code, 0, run.stderr);
    const { current, versions } = (await (await adminCall("GET", "/config/versions")).json()) as {
      current: number;
      versions: { version: number; hash: string }[];
    };
    const first = versions.find((v) => v.version === 1)!;
    assert.equal(current, 4);
    assert.equal(
      run.stdout,
      `rolled back to version 1: now serving version 4 (hash ${first.hash})\n`,
    );
    const routes = (await (await adminCall("GET", "/routes")).json()) as {
      data: { name: string }[];
    };
    assert.deepEqual(
      routes.data.map((route) => route.name),
      ["first"],
    );
  });

  it("prints the API's error and code, and exits 1: no key, a version not kept", async () => {
    const unauthorized = await gatehouse(["config", "versions", "--admin", admin], {
      GATEHOUSE_ADMIN_KEY: "",
    });
    const notKept = await gatehouse([
      "config",
      "rollback",
      "99",
      "--admin",
      `${admin}/`,
      "--key",
      key,
    ]);
    assert.equal(unauthorized.code, 1);
    assert.equal(unauthorized.stdout, "");
    assert.match(unauthorized.stderr, /^gatehouse: .+ \(GATEHOUSE_ADMIN_UNAUTHORIZED\)\n$/);
    assert.equal(notKept.code, 1);
    assert.match(
      notKept.stderr,
      /^gatehouse: config version 99 is not kept .*\(GATEHOUSE_CONFIG_VERSION_NOT_FOUND\)\n$/,
    );
  });

  it("names the admin URL and exits 1 when nothing listens there", async () => {
    const admin = `http://127.0.0.1:${await closedPort()}`;
    const commands = [
      ["config", "versions", "--admin", admin],
      ["config", "rollback", "3", "--admin", admin],
    ];
    for (const args of commands) {
      const run = await gatehouse(args);
      assert.equal(run.code, 1, args.join(" "));
      assert.equal(run.stdout, "");
      assert.equal(
        run.stderr,
        `gatehouse: cannot reach the admin API at ${admin}: connection refused (is the gateway running with gateway.admin set?)\n`,
      );
    }
  });
});

/** A loopback port nothing listens on (just released by a server that had it). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
