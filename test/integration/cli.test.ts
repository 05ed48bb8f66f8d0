// The real `gatehouse` command in a child process: validate, schema, and start → proxy → SIGTERM.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { request } from "undici";
import { parse as parseYaml } from "yaml";
import { builtinPlugins } from "../../src/plugins/index.ts";
import { resolveMaxClientConnections } from "../../src/server/open-file-limit.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const cliPath = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const quickstartPath = fileURLToPath(new URL("../../examples/quickstart.yaml", import.meta.url));
const DEADLINE_MS = 20_000;

/** What `gatehouse start` says of the default connection cap (the child has this process's limit). */
function capMessage(): string {
  const { max, openFiles } = resolveMaxClientConnections("auto");
  return `at most ${max} client connections at once (gateway.limits.maxClientConnections: auto; ${openFiles === undefined ? "the open-file limit could not be read" : `the open-file limit is ${openFiles}`})`;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running CLI process with its output so far. */
interface Cli {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<Exit>;
}

const children = new Set<ChildProcess>();

function spawnCli(args: string[]): Cli {
  // process.execPath is the Node 24 running this test, which runs .ts directly.
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const output = { stdout: "", stderr: "" };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    output.stderr += chunk;
  });
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, output, exited };
}

/** Resolves with `promise`, or fails after `ms` naming what was awaited and the output so far. */
async function within<T>(promise: Promise<T>, ms: number, what: string, cli: Cli): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const { stdout, stderr } = cli.output;
      reject(
        new Error(
          `timed out after ${ms}ms waiting for ${what}\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the CLI to completion. */
async function runCli(args: string[]): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = spawnCli(args);
  const exit = await within(cli.exited, DEADLINE_MS, `gatehouse ${args.join(" ")} to exit`, cli);
  return { ...exit, ...cli.output };
}

/** Waits until stdout holds a line matching `pattern`. */
function waitForLine(cli: Cli, pattern: RegExp): Promise<RegExpExecArray> {
  const found = new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(cli.output.stdout);
      if (match) {
        cli.child.stdout!.off("data", check);
        resolve(match);
      }
    };
    cli.child.stdout!.on("data", check);
    void cli.exited.then((exit) => reject(new Error(`gatehouse exited early (${exit.code})`)));
    check();
  });
  return within(found, DEADLINE_MS, `a line matching ${pattern}`, cli);
}

after(() => {
  for (const child of children) child.kill("SIGKILL");
});

let dir: string;
const file = (name: string) => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-cli-"));
  await writeFile(
    file("good.yaml"),
    [
      "gateway:",
      "  listen: [{ host: 127.0.0.1, port: 0 }]",
      "services:",
      "  - name: users",
      "    targets: [{ url: http://127.0.0.1:9001 }]",
      "routes:",
      "  - name: users-api",
      '    match: { paths: ["/api/users", "/api/users/*"], methods: [GET, POST] }',
      "    service: users",
      "    stripPrefix: /api",
      "",
    ].join("\n"),
  );
  await writeFile(
    file("bad.yaml"),
    [
      "gateway:",
      "  listen: [{ port: 80, hots: x }]",
      "  shutdownTimeout: 5",
      "services:",
      "  - name: users",
      "    targets: [{ url: http://127.0.0.1:9001/v1 }]",
      "routes:",
      "  - name: r",
      "    match: { paths: [/a/*/b] }",
      "    service: usres",
      "",
    ].join("\n"),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

describe("gatehouse validate", () => {
  it("exits 0 on a good config, with -c or --config", async () => {
    for (const flag of ["-c", "--config"]) {
      const result = await runCli(["validate", flag, file("good.yaml")]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `${file("good.yaml")}: valid\n`);
      assert.equal(result.stderr, "");
    }
  });

  it("exits 1 on a bad config and prints every problem as FILE:LINE:COL", async () => {
    const result = await runCli(["validate", "-c", file("bad.yaml")]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    const bad = file("bad.yaml");
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `${bad}:2:24 gateway.listen[0]: unknown key "hots" (did you mean "host"?)`,
      `${bad}:3:20 gateway.shutdownTimeout: expected a duration like 250ms, 5s or 1m (a number needs a unit)`,
      `${bad}:6:22 services[0].targets[0].url: expected an http(s) URL with a host and no path, e.g. http://10.0.0.5:8080`,
      `${bad}:9:22 routes[0].match.paths[0]: path "/a/*/b": * is only allowed as the last segment`,
      `${bad}:10:14 routes[0].service: unknown service "usres" (did you mean "users"?)`,
    ]);
  });

  it("prints the schema's problems, unknown plugins and every plugin's config problems in one run", async () => {
    const config = file("plugins.yaml");
    await writeFile(
      config,
      [
        "gateway:",
        "  listen: [{ port: 80, hots: x }]",
        "services:",
        "  - name: users",
        "    targets: [{ url: http://127.0.0.1:9001 }]",
        "    plugins: [{ name: cors, config: { origins: [], credentials: maybe } }]",
        "routes:",
        "  - name: r",
        "    match: { paths: [/a] }",
        "    service: users",
        "    plugins:",
        "      - { name: rate-limit, config: { limit: 0, window: 1m } }",
        "plugins:",
        "  - name: jwtt",
        "",
      ].join("\n"),
    );
    const result = await runCli(["validate", "-c", config]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `${config}:2:24 gateway.listen[0]: unknown key "hots" (did you mean "host"?)`,
      `${config}:6:48 services[0].plugins[0].config.origins: must list at least one item`,
      `${config}:6:65 services[0].plugins[0].config.credentials: expected true or false, got the string "maybe"`,
      `${config}:12:46 routes[0].plugins[0].config.limit: must be at least 1`,
      `${config}:14:11 plugins[0].name: unknown plugin "jwtt" (did you mean "jwt"?)`,
    ]);
  });

  it("exits 1 with a clear message when the file is missing", async () => {
    const missing = file("missing.yaml");
    const result = await runCli(["validate", "--config", missing]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `${missing}:1:1 config file not found\n`);
  });

  it("accepts examples/quickstart.yaml", async () => {
    const result = await runCli(["validate", "-c", quickstartPath]);
    assert.equal(result.code, 0, result.stderr);
  });
});

describe("gatehouse schema", () => {
  let schema: JsonSchema;
  before(async () => {
    const result = await runCli(["schema"]);
    assert.equal(result.code, 0, result.stderr);
    schema = JSON.parse(result.stdout) as JsonSchema;
  });

  it("prints a closed JSON Schema describing gateway, services and routes", () => {
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    assert.equal(schema.type, "object");
    assert.deepEqual(schema.required, ["gateway"]);
    assert.equal(schema.additionalProperties, false);
    const top = schema.properties!;
    for (const key of ["gateway", "services", "routes", "consumers", "plugins"])
      assert.ok(top[key], `schema describes ${key}`);
    assert.equal(top.gateway!.additionalProperties, false);
    assert.deepEqual(top.gateway!.required, ["listen"]);
    for (const list of ["services", "routes"]) {
      assert.equal(top[list]!.type, "array");
      assert.equal(top[list]!.items!.additionalProperties, false, `${list} items are closed`);
    }
    assert.deepEqual(top.services!.items!.required, ["name"]); // targets, or discovery instead
    assert.deepEqual(top.routes!.items!.required, ["name", "match", "service"]);
  });

  it("describes examples/quickstart.yaml, and no config with a misspelt key", async () => {
    const quickstart: unknown = parseYaml(await readFile(quickstartPath, "utf8"));
    assert.deepEqual(problemsAgainst(schema, quickstart), []);
    const misspelt = structuredClone(quickstart) as { routes: Record<string, unknown>[] };
    misspelt.routes[0]!.strip = "/api";
    assert.deepEqual(problemsAgainst(schema, misspelt), ['routes[0]: "strip" is not allowed']);
  });

  it("gives each built-in plugin's config its own schema, chosen by name", () => {
    const entry = schema.properties!.routes!.items!.properties!.plugins!.items!;
    const builtins = builtinPlugins.map((plugin) => plugin.name);
    // `name` offers the built-in names, and takes any other (a plugin module's).
    assert.deepEqual(entry.properties!.name!.anyOf![0]!.enum, builtins);
    const branches = new Map(
      entry.allOf!.map((branch) => [branch.if.properties.name.const, branch.then]),
    );
    assert.deepEqual([...branches.keys()], builtins);
    const configOf = (name: string) => branches.get(name)!.properties!.config!.properties!;
    assert.equal(configOf("rate-limit").limit!.description, "Requests admitted per window.");
    assert.ok(configOf("jwt").jwksUri);
  });

  it("accepts good plugin configs and refuses a built-in plugin's bad one, checked by ajv", async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const problems = (config: unknown) =>
      validate(config)
        ? []
        : (validate.errors ?? [])
            .filter((error) => error.keyword !== "if")
            .map((error) => `${error.instancePath} ${error.message}`);
    type Plugins = { name: string; config?: unknown }[];
    const quickstart = parseYaml(await readFile(quickstartPath, "utf8")) as {
      routes: { plugins: Plugins }[];
      consumers: { plugins?: Plugins }[];
    };
    assert.deepEqual(problems(quickstart), []);
    const withPlugins = (route: unknown[], consumer: unknown[] = []) => {
      const config = structuredClone(quickstart);
      config.routes[0]!.plugins = route as Plugins;
      config.consumers[0]!.plugins = consumer as Plugins;
      return config;
    };
    const good = withPlugins(
      [
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a reference, as written in a file
        { name: "rate-limit", config: { limit: "${env:LIMIT}", window: "1m", by: ["ip"] } },
        { name: "my-own-plugin", config: { anything: [1, 2] } },
      ],
      [{ name: "rate-limit", config: { limits: [{ limit: 1000, window: "1h" }] } }],
    );
    assert.deepEqual(problems(good), []);
    const bad = withPlugins(
      [{ name: "rate-limit", config: { limt: 100, window: "1m" } }, { name: "cors" }],
      [{ name: "rate-limit", config: { limit: 0, window: "1m" } }],
    );
    assert.deepEqual(problems(bad).sort(), [
      "/consumers/0/plugins/0/config/limit must be >= 1",
      "/consumers/0/plugins/0/config/limit must be string",
      "/consumers/0/plugins/0/config/limit must match a schema in anyOf",
      "/routes/0/plugins/0/config must NOT have additional properties",
      "/routes/0/plugins/1 must have required property 'config'",
    ]);
  });
});

describe("gatehouse start", () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(() => upstream.close());

  it("proxies on the address it prints, then drains and exits 0 on SIGTERM", async () => {
    const config = file("start.yaml");
    await writeFile(
      config,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  shutdownTimeout: 5s",
        "services:",
        `  - { name: echo, targets: [{ url: "${upstream.url}" }] }`,
        "routes:",
        "  - { name: api, match: { paths: [/api/*] }, service: echo, stripPrefix: /api }",
        "",
      ].join("\n"),
    );
    const cli = spawnCli(["start", "-c", config]);
    const [, host, port] = await waitForLine(cli, /"msg":"proxy listening on ([^"]+):(\d+)"/);
    assert.equal(host, "127.0.0.1");

    const response = await request(`http://${host}:${port}/api/hello?x=1`);
    assert.equal(response.statusCode, 200);
    const body = (await response.body.json()) as { url: string; method: string };
    assert.deepEqual({ method: body.method, url: body.url }, { method: "GET", url: "/hello?x=1" });

    cli.child.kill("SIGTERM");
    const exit = await within(cli.exited, DEADLINE_MS, "gatehouse to exit after SIGTERM", cli);
    assert.deepEqual(exit, { code: 0, signal: null }, cli.output.stderr);
    // The process log: JSON lines on stdout, in order, with levels and structured fields
    // (the access log's lines, which have no level, share stdout by default).
    const lines = cli.output.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.level !== undefined);
    assert.deepEqual(
      lines.map(({ level, msg }) => ({ level, msg })),
      [
        { level: "info", msg: "starting" },
        { level: "info", msg: `proxy listening on ${host}:${port}` },
        { level: "info", msg: capMessage() },
        { level: "info", msg: "SIGTERM received, draining" },
        { level: "info", msg: "stopped" },
      ],
    );
    assert.equal(lines[0]!.configVersion, 1);
    assert.match(String(lines[0]!.configHash), /^[0-9a-f]{16}$/);
    assert.deepEqual(
      { listener: lines[1]!.listener, address: lines[1]!.address },
      { listener: "proxy", address: `${host}:${port}` },
    );
    assert.equal(lines[3]!.signal, "SIGTERM");
    assert.equal(cli.output.stderr, "");
  });

  it("on a port in use, says in one line which listener and setting, exit 1", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const config = file("busy.yaml");
      await writeFile(
        config,
        [
          "gateway:",
          "  listen: [{ host: 127.0.0.1, port: 0 }]",
          `  status: { host: 127.0.0.1, port: ${port} }`,
          "",
        ].join("\n"),
      );
      const result = await runCli(["start", "-c", config]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, "");
      const fatal = result.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.level === "fatal");
      assert.deepEqual(
        fatal.map(({ msg }) => msg),
        [`cannot start: port ${port} (status listener, gateway.status.port) is in use`],
      );
    } finally {
      taken.close();
    }
  });

  it("refuses to start on a bad config, exit 1", async () => {
    const result = await runCli(["start", "--config", file("bad.yaml")]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad\.yaml:2:24 gateway\.listen\[0\]: unknown key "hots"/);
  });
});

/** The parts of JSON Schema that `gatehouse schema` uses. */
interface JsonSchema {
  $schema?: string;
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  pattern?: string;
  description?: string;
  allOf?: { if: { properties: { name: { const: string } } }; then: JsonSchema }[];
}

/**
 * A small checker, enough to say whether a config has the shape the schema describes:
 * types, required keys, closed objects, list items, map values, alternatives.
 */
function problemsAgainst(schema: JsonSchema, value: unknown, at = ""): string[] {
  const here = at || "(top level)";
  if (schema.anyOf) {
    const fits = schema.anyOf.some((option) => problemsAgainst(option, value, at).length === 0);
    return fits ? [] : [`${here}: matches none of the alternatives`];
  }
  if (schema.enum && !schema.enum.includes(value))
    return [`${here}: not one of the allowed values`];
  if (schema.pattern && typeof value === "string" && !new RegExp(schema.pattern).test(value))
    return [`${here}: does not match ${schema.pattern}`];
  switch (schema.type) {
    case "string":
    case "boolean":
      return typeof value === schema.type ? [] : [`${here}: expected ${schema.type}`];
    case "number":
      return typeof value === "number" ? [] : [`${here}: expected number`];
    case "integer":
      return Number.isInteger(value) ? [] : [`${here}: expected integer`];
    case "array":
      if (!Array.isArray(value)) return [`${here}: expected array`];
      return value.flatMap((item, i) => problemsAgainst(schema.items ?? {}, item, `${at}[${i}]`));
    case "object": {
      if (value === null || typeof value !== "object" || Array.isArray(value))
        return [`${here}: expected object`];
      const record = value as Record<string, unknown>;
      const problems = (schema.required ?? [])
        .filter((key) => !(key in record))
        .map((key) => `${here}: "${key}" is required`);
      for (const [key, item] of Object.entries(record)) {
        const path = at ? `${at}.${key}` : key;
        const property = schema.properties?.[key];
        if (property) problems.push(...problemsAgainst(property, item, path));
        else if (schema.additionalProperties === false)
          problems.push(`${here}: "${key}" is not allowed`);
        else if (typeof schema.additionalProperties === "object")
          problems.push(...problemsAgainst(schema.additionalProperties, item, path));
      }
      return problems;
    }
    default:
      return [];
  }
}
