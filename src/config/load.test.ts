// Config loading as a user meets it: every problem printed as FILE:LINE:COL with a clear
// message, all of them at once, from YAML or JSON text or a file. (Substitution is in
// substitute.test.ts, defaults and units in schema.test.ts.)
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text holds ${env:...} references
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseGatewayConfig, validateConfigFile } from "../runtime/validate.ts";
import { ConfigError, formatProblem, loadConfigFile } from "./load.ts";

const FILE = "gw.yaml";

/** Lines of a YAML file; line N of the file is argument N. */
const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

/** Every problem the loader reports for `text`, as printed: `FILE:LINE:COL message`. */
function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseGatewayConfig(text, FILE, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    const printed = error.problems.map(formatProblem);
    assert.equal(error.message, printed.join("\n"), "the error message lists every problem");
    for (const line of printed) assert.match(line, /^gw\.yaml:\d+:\d+ \S/);
    return printed;
  }
  assert.fail("expected the config to be rejected");
}

const accepted = (text: string, env: Record<string, string> = {}) =>
  parseGatewayConfig(text, FILE, env);

const gateway = ["gateway:", "  listen: [{ port: 8080 }]"];
const usersService = [
  "services:",
  "  - name: users",
  "    targets: [{ url: http://127.0.0.1:9001 }]",
];

describe("config problems are located at FILE:LINE:COL", () => {
  it("a value of the wrong type, at the value", () => {
    assert.deepEqual(problems(yaml("gateway:", '  listen: [{ host: 127.0.0.1, port: "abc" }]')), [
      'gw.yaml:2:37 gateway.listen[0].port: expected a number, got the string "abc"',
    ]);
  });

  it("an unknown key, at the key, with a did-you-mean", () => {
    assert.deepEqual(problems(yaml(...gateway, "  shutdownTimout: 5s")), [
      'gw.yaml:3:3 gateway: unknown key "shutdownTimout" (did you mean "shutdownTimeout"?)',
    ]);
    assert.deepEqual(problems(yaml(...gateway, "servics: []")), [
      'gw.yaml:3:1 (top level): unknown key "servics" (did you mean "services"?)',
    ]);
  });

  it("a YAML alias without its anchor, at the alias", () => {
    assert.deepEqual(problems(yaml(...gateway, "services: *nope")), [
      "gw.yaml:3:11 YAML alias *nope has no anchor &nope before it",
    ]);
  });

  it("a missing required key, at the map that lacks it", () => {
    assert.deepEqual(problems(yaml("gateway:", "  listen: [{ host: 127.0.0.1 }]")), [
      "gw.yaml:2:12 gateway.listen[0].port: required key is missing",
    ]);
    assert.deepEqual(problems(yaml("services: []")), [
      "gw.yaml:1:1 gateway: required key is missing",
    ]);
  });

  it("a route naming an unknown service, with a did-you-mean", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: r",
      "    match: { paths: [/a] }",
      "    service: user",
    );
    assert.deepEqual(problems(text), [
      'gw.yaml:9:14 routes[0].service: unknown service "user" (did you mean "users"?)',
    ]);
  });

  it("duplicate service and route names, at the second name", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "  - name: users",
      "    targets: [{ url: http://127.0.0.1:9002 }]",
      "routes:",
      "  - { name: r, match: { paths: [/a] }, service: users }",
      "  - { name: r, match: { paths: [/b] }, service: users }",
    );
    assert.deepEqual(problems(text), [
      'gw.yaml:6:11 services[1].name: duplicate service name "users" (first used at services[0])',
      'gw.yaml:10:13 routes[1].name: duplicate route name "r" (first used at routes[0])',
    ]);
  });

  it("a bad target URL", () => {
    const text = yaml(
      ...gateway,
      "services:",
      "  - name: users",
      '    targets: [{ url: "ftp://a/x" }]',
    );
    assert.deepEqual(problems(text), [
      "gw.yaml:5:22 services[0].targets[0].url: expected an http(s) URL with a host and no path, e.g. http://10.0.0.5:8080",
    ]);
  });

  it("a bad duration, size and CIDR", () => {
    const text = yaml(
      ...gateway,
      "  shutdownTimeout: 5 parsecs",
      "  limits: { maxBodySize: 10zb }",
      "  trustedProxies: [10.0.0.0/8, 10.0.0.0/33]",
    );
    assert.deepEqual(problems(text), [
      "gw.yaml:3:20 gateway.shutdownTimeout: expected a duration like 250ms, 5s or 1m",
      "gw.yaml:4:26 gateway.limits.maxBodySize: expected a size like 512kb, 10mb or 1gb",
      "gw.yaml:5:32 gateway.trustedProxies[1]: expected an IP address or CIDR range, e.g. 10.0.0.0/8 or ::1",
    ]);
  });

  it("a duration written as a bare number says it needs a unit", () => {
    assert.deepEqual(problems(yaml(...gateway, "  timeouts: { connect: 5000 }")), [
      "gw.yaml:3:24 gateway.timeouts.connect: expected a duration like 250ms, 5s or 1m (a number needs a unit)",
    ]);
  });

  it("an invalid route path, at that path item, in every route", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: a",
      "    match:",
      "      paths:",
      "        - /ok",
      "        - /a/*/b",
      "    service: users",
      "  - name: b",
      '    match: { paths: [/ok2, "/x/:1bad"] }',
      "    service: users",
    );
    assert.deepEqual(problems(text), [
      'gw.yaml:11:11 routes[0].match.paths[1]: path "/a/*/b": * is only allowed as the last segment',
      'gw.yaml:14:28 routes[1].match.paths[1]: path "/x/:1bad": bad parameter name "1bad"',
    ]);
  });

  it("an invalid header regex, at the regex", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: r",
      '    match: { paths: [/a], headers: { x-version: { regex: "([" } } }',
      "    service: users",
    );
    const [problem, ...rest] = problems(text);
    assert.deepEqual(rest, []);
    assert.match(
      problem!,
      /^gw\.yaml:8:58 routes\[0\]\.match\.headers\.x-version\.regex: not a valid regular expression: /,
    );
  });

  it("a matcher of the wrong shape says which shapes are allowed", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: r",
      "    match: { paths: [/a], headers: { x-a: 5, x-b: { rgx: a } } }",
      "    service: users",
    );
    assert.deepEqual(problems(text), [
      "gw.yaml:8:43 routes[0].match.headers.x-a: expected a string or a map of keys to values, got 5",
      "gw.yaml:8:51 routes[0].match.headers.x-b.regex: required key is missing",
      'gw.yaml:8:53 routes[0].match.headers.x-b: unknown key "rgx" (did you mean "regex"?)',
    ]);
  });

  it("stripPrefix together with rewrite, at the rewrite", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: r",
      "    match: { paths: [/p/:id] }",
      "    service: users",
      "    stripPrefix: /p",
      "    rewrite: /q/:id",
    );
    assert.deepEqual(problems(text), [
      "gw.yaml:11:14 routes[0].rewrite: set stripPrefix or rewrite, not both",
    ]);
  });

  it("a rewrite naming a parameter the path does not have, at the rewrite", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: r",
      "    match: { paths: [/p/:id] }",
      "    service: users",
      "    rewrite: /q/:name",
    );
    assert.deepEqual(problems(text), [
      'gw.yaml:10:14 routes[0].rewrite: rewrite uses :name but path "/p/:id" has no such part',
    ]);
  });

  it("a rewrite or stripPrefix that makes a dot segment, at the one that does", () => {
    const route = (line: string) =>
      yaml(
        ...gateway,
        ...usersService,
        "routes:",
        "  - name: r",
        "    match: { paths: [/p/*] }",
        "    service: users",
        line,
      );
    assert.deepEqual(problems(route("    rewrite: /q/..*")), [
      'gw.yaml:10:14 routes[0].rewrite: rewrite "/q/..*" must not make a dot segment (. or ..): the upstream would resolve it',
    ]);
    assert.deepEqual(problems(route("    stripPrefix: /p/..")), [
      'gw.yaml:10:18 routes[0].stripPrefix: stripPrefix "/p/.." must not make a dot segment (. or ..): the upstream would resolve it',
    ]);
  });

  it("a collection as a key, as an unknown key, with nothing printed to stderr", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      assert.deepEqual(problems(yaml(...gateway, "? [a]", ": 1")), [
        'gw.yaml:1:1 (top level): unknown key "[ a ]"',
      ]);
      // Node emits a process warning on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it("an unknown plugin name, global or on a route, at the name", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: r",
      "    match: { paths: [/a] }",
      "    service: users",
      "    plugins: [{ name: no-such-plugin }]",
      "plugins:",
      "  - name: no-such-plugin-either",
    );
    const [route, global, ...rest] = problems(text);
    assert.deepEqual(rest, []);
    assert.match(
      route!,
      /^gw\.yaml:10:23 routes\[0\]\.plugins\[0\]\.name: unknown plugin "no-such-plugin"/,
    );
    assert.match(
      global!,
      /^gw\.yaml:12:11 plugins\[0\]\.name: unknown plugin "no-such-plugin-either"/,
    );
  });

  it("a YAML syntax error, at the point the parser stopped", () => {
    assert.deepEqual(problems(yaml("gateway:", "  listen: [{ port: 80 }", "services: []")), [
      "gw.yaml:3:1 YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
    assert.deepEqual(problems(yaml("gateway:", "  listen: [{ port: 80 }]", "  listen: []")), [
      "gw.yaml:3:3 YAML syntax: Map keys must be unique",
    ]);
  });

  it("an unquoted ${env:...} inside { } gets a hint to quote it", () => {
    const [problem] = problems(yaml("gateway:", "  listen: [{ port: ${env:PORT} }]"), {
      PORT: "1",
    });
    assert.match(problem!, /^gw\.yaml:2:\d+ YAML syntax: .*quote \$\{env:\.\.\.\} references/);
  });

  it("numbers out of range and empty names say what is allowed", () => {
    const text = yaml(
      "gateway:",
      "  listen: [{ port: 70000 }]",
      "  limits: { maxHeaderCount: 0 }",
      "  paths: { encodedSlashes: decod }",
      "services:",
      "  - name: ''",
      "    targets: []",
      "    loadBalancer: { algorithm: rando }",
      "routes:",
      "  - { name: r, match: { paths: [/a], methods: [get] }, service: '', priority: 1.5 }",
    );
    assert.deepEqual(problems(text), [
      "gw.yaml:2:20 gateway.listen[0].port: must be at most 65535",
      "gw.yaml:3:29 gateway.limits.maxHeaderCount: must be at least 1",
      'gw.yaml:4:28 gateway.paths.encodedSlashes: must be one of "reject", "decode", "keep" (did you mean "decode"?)',
      "gw.yaml:6:11 services[0].name: must not be empty",
      "gw.yaml:7:14 services[0].targets: must list at least one item",
      'gw.yaml:8:32 services[0].loadBalancer.algorithm: must be one of "round-robin", "weighted-round-robin", "random", "weighted-random", "least-connections", "least-response-time", "power-of-two", "consistent-hash" (did you mean "random"?)',
      "gw.yaml:10:48 routes[0].match.methods[0]: expected an upper-case HTTP method",
      "gw.yaml:10:79 routes[0].priority: expected a whole number, got 1.5",
    ]);
  });

  it("a client connection cap that is not auto or a whole number of connections", () => {
    const cap = (value: string) =>
      problems(
        yaml(
          "gateway:",
          "  listen: [{ port: 8080 }]",
          `  limits: { maxClientConnections: ${value} }`,
        ),
      );
    assert.deepEqual(cap("-5"), [
      "gw.yaml:3:35 gateway.limits.maxClientConnections: must be at least 0",
    ]);
    for (const value of ["lots", "1.5", "'100'"]) {
      assert.deepEqual(cap(value), [
        "gw.yaml:3:35 gateway.limits.maxClientConnections: expected auto, 0 (no limit) or a whole number of connections",
      ]);
    }
  });

  it("reports several problems in one file, all of them, in file order", () => {
    const text = yaml(
      "gateway:",
      '  listen: [{ port: "x" }]',
      "  shutdownTimeout: soon",
      "services:",
      "  - name: users",
      "    targets: [{ url: nope }]",
      "    wieght: 2",
      "routes:",
      "  - name: r",
      "    match: { paths: [/a/*/b] }",
      "    service: usrs",
    );
    assert.deepEqual(problems(text), [
      'gw.yaml:2:20 gateway.listen[0].port: expected a number, got the string "x"',
      "gw.yaml:3:20 gateway.shutdownTimeout: expected a duration like 250ms, 5s or 1m",
      "gw.yaml:6:22 services[0].targets[0].url: expected an http(s) URL with a host and no path, e.g. http://10.0.0.5:8080",
      'gw.yaml:7:5 services[0]: unknown key "wieght"',
      'gw.yaml:10:22 routes[0].match.paths[0]: path "/a/*/b": * is only allowed as the last segment',
      'gw.yaml:11:14 routes[0].service: unknown service "usrs" (did you mean "users"?)',
    ]);
  });

  it("reports an unknown plugin alongside an unknown service", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - { name: r, match: { paths: [/a] }, service: nobody, plugins: [{ name: no-such-plugin }] }",
    );
    const [service, plugin, ...rest] = problems(text);
    assert.deepEqual(rest, []);
    assert.equal(service, 'gw.yaml:7:49 routes[0].service: unknown service "nobody"');
    assert.match(
      plugin!,
      /^gw\.yaml:7:75 routes\[0\]\.plugins\[0\]\.name: unknown plugin "no-such-plugin"/,
    );
  });

  it("reports plugin names and every plugin's config problems with the schema's, in one run", () => {
    const text = yaml(
      "gateway:",
      '  listen: [{ port: "eighty" }]',
      ...usersService,
      "    plugins:",
      "      - name: cors",
      "        config: { origins: [], credentials: maybe }",
      "routes:",
      "  - name: r",
      "    match: { paths: [/a] }",
      "    service: users",
      "    plugins:",
      "      - name: rate-limit",
      "        config: { limt: 5, window: 1m }",
      "  - name: no-service",
      "    match: { paths: [/b] }",
      "    plugins:",
      '      - { name: key-auth, config: { header: "" } }',
      "consumers:",
      "  - name: alice",
      "    plugins: [{ name: rate-limit, config: { limit: 0, window: 1m } }]",
      "plugins:",
      "  - name: rate-limt",
    );
    assert.deepEqual(problems(text), [
      'gw.yaml:2:20 gateway.listen[0].port: expected a number, got the string "eighty"',
      "gw.yaml:8:28 services[0].plugins[0].config.origins: must list at least one item",
      'gw.yaml:8:45 services[0].plugins[0].config.credentials: expected true or false, got the string "maybe"',
      "gw.yaml:15:17 routes[0].plugins[0].config.limit: `limit` is required with `window`",
      'gw.yaml:15:19 routes[0].plugins[0].config: unknown key "limt" (did you mean "limit"?)',
      "gw.yaml:16:5 routes[1].service: required key is missing",
      "gw.yaml:19:45 routes[1].plugins[0].config.header: must not be empty",
      "gw.yaml:22:52 consumers[0].plugins[0].config.limit: must be at least 1",
      'gw.yaml:24:11 plugins[0].name: unknown plugin "rate-limt" (did you mean "rate-limit"?)',
    ]);
  });

  it("a mistyped HTTP method, in a route or a plugin's config, with a did-you-mean", () => {
    const text = yaml(
      ...gateway,
      ...usersService,
      "routes:",
      "  - name: r",
      "    match: { paths: [/a], methods: [GET, FETCH, GTE, PURGE] }",
      "    service: users",
      "    plugins:",
      "      - { name: cors, config: { origins: ['*'], methods: [get, POTS] } }",
      "      - { name: authorize, config: { rules: [{ methods: [DELTE] }] } }",
    );
    assert.deepEqual(problems(text), [
      'gw.yaml:8:42 routes[0].match.methods[1]: "FETCH" is not an HTTP method (did you mean "PATCH"?)',
      'gw.yaml:8:49 routes[0].match.methods[2]: "GTE" is not an HTTP method (did you mean "GET"?)',
      'gw.yaml:8:54 routes[0].match.methods[3]: "PURGE" is not a standard HTTP method: add it to gateway.customMethods if your clients send it',
      'gw.yaml:11:64 routes[0].plugins[0].config.methods[1]: "POTS" is not an HTTP method (did you mean "POST"?)',
      'gw.yaml:12:58 routes[0].plugins[1].config.rules[0].methods[0]: "DELTE" is not an HTTP method (did you mean "DELETE"?)',
    ]);
  });

  it("cors may allow any method with *", () => {
    const config = accepted(
      yaml(
        ...gateway,
        ...usersService,
        "routes:",
        "  - name: r",
        "    match: { paths: [/a] }",
        "    service: users",
        "    plugins: [{ name: cors, config: { origins: ['*'], methods: ['*'] } }]",
      ),
    );
    assert.deepEqual(config.routes[0]!.plugins[0]!.config, {
      ...config.routes[0]!.plugins[0]!.config,
      methods: ["*"],
    });
  });

  it("methods listed in gateway.customMethods, and only methods Node.js can receive", () => {
    const route = [
      "routes:",
      "  - name: r",
      "    match: { paths: [/a], methods: [PURGE, PROPFIND] }",
      "    service: users",
      "    plugins: [{ name: cors, config: { origins: ['*'], methods: [purge] } }]",
    ];
    const config = accepted(
      yaml(...gateway, "  customMethods: [PURGE, PROPFIND]", ...usersService, ...route),
    );
    assert.deepEqual(config.routes[0]!.match.methods, ["PURGE", "PROPFIND"]);
    assert.deepEqual(config.gateway.customMethods, ["PURGE", "PROPFIND"]);
    assert.deepEqual(problems(yaml(...gateway, "  customMethods: [purge, FETCH, GET]")), [
      'gw.yaml:3:19 gateway.customMethods[0]: "purge" is not a method Node.js\'s HTTP parser accepts, so no request could use it (did you mean "PURGE"?)',
      'gw.yaml:3:26 gateway.customMethods[1]: "FETCH" is not a method Node.js\'s HTTP parser accepts, so no request could use it (did you mean "PATCH"?)',
      "gw.yaml:3:33 gateway.customMethods[2]: GET is a standard method: it needs no listing here",
    ]);
  });

  it("a top level that is not a map", () => {
    assert.deepEqual(problems(yaml("- a")), [
      "gw.yaml:1:1 (top level): expected a map of keys to values, got a list",
    ]);
    assert.deepEqual(problems(""), ["gw.yaml:1:1 gateway: required key is missing"]);
  });
});

describe("JSON config", () => {
  it("is accepted", () => {
    const text = JSON.stringify(
      {
        gateway: { listen: [{ port: 8080 }] },
        services: [{ name: "users", targets: [{ url: "http://127.0.0.1:9001" }] }],
        routes: [
          { name: "r", match: { paths: ["/api/*"] }, service: "users", stripPrefix: "/api" },
        ],
      },
      null,
      "\t",
    );
    const config = accepted(text);
    assert.equal(config.gateway.listen[0]!.port, 8080);
    assert.equal(config.routes[0]!.stripPrefix, "/api");
    assert.equal(config.services[0]!.targets![0]!.weight, 1);
  });

  it("is located too when wrong", () => {
    const text =
      '{\n  "gateway": { "listen": [{ "port": 8080 }] },\n  "routes": [{ "name": "r", "match": { "paths": ["/a"] }, "service": "b" }]\n}\n';
    assert.deepEqual(problems(text), ['gw.yaml:3:70 routes[0].service: unknown service "b"']);
  });
});
describe("config files", () => {
  let dir: string | undefined;
  after(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it("loads a file, and names it in every problem", async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-config-"));
    const good = join(dir, "good.yaml");
    const bad = join(dir, "bad.json");
    await writeFile(good, yaml(...gateway));
    await writeFile(bad, '{ "gateway": { "listen": [] } }');
    assert.equal((await validateConfigFile(good, {})).gateway.listen[0]!.port, 8080);
    await assert.rejects(validateConfigFile(bad, {}), (error: ConfigError) => {
      assert.deepEqual(error.problems.map(formatProblem), [
        `${bad}:1:26 gateway.listen: must list at least one item`,
      ]);
      return true;
    });
  });

  it("is validateConfigFile in the public API, and still loadGatewayConfig (deprecated)", async () => {
    const api = await import("../index.ts");
    assert.equal(api.validateConfigFile, validateConfigFile);
    assert.equal(api.loadGatewayConfig, validateConfigFile);
  });

  it("says clearly when the file is missing", async () => {
    await assert.rejects(loadConfigFile("/nonexistent/gatehouse.yaml"), {
      name: "ConfigError",
      message: "/nonexistent/gatehouse.yaml:1:1 config file not found",
    });
  });
});
