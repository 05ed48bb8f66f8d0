// The admin API against a real gateway started from a real config file, with a real
// upstream: every resource operation changes what the proxy serves; a bad change is refused
// with its problems and nothing applied; keys are required when configured and the
// listener refuses to start off loopback without them; the second of two writes based on
// the same version gets 409; changes are written back to the file and survive a restart;
// a rollback restores exactly the old config.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError } from "../../src/config/load.ts";
import { FileProvider } from "../../src/providers/file.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import {
  type AdminGateway,
  removeDir,
  startAdminGateway,
  startFromFile,
} from "../helpers/admin.ts";
import { nextReload } from "../helpers/reload-events.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

function config(upstream: string, admin = "{ port: 0 }"): string {
  return [
    "# the gateway: section and this comment survive admin writes",
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    `  admin: ${admin}`,
    "  shutdownTimeout: 200ms",
    "  reload: { watch: false }",
    "  log: { level: silent }",
    "  accessLog: { enabled: false }",
    `services: [{ name: users, targets: [{ url: "${upstream}" }] }]`,
    'routes: [{ name: users-api, match: { paths: ["/users", "/users/*"] }, service: users }]',
    "consumers:",
    "  - name: alice",
    '    credentials: { keys: ["alice-key-0000000001"] }',
    "",
  ].join("\n");
}

/** Samples of each kind of resource, valid against the config above. */
const samples = {
  services: { name: "orders", targets: [{ url: "http://127.0.0.1:9" }] },
  routes: {
    name: "users-v2",
    match: { paths: ["/v2/users"] },
    service: "users",
    rewrite: "/users",
  },
  consumers: { name: "bob", groups: ["staff"] },
  plugins: { name: "cors", config: { origins: ["https://app.example"] } },
} as const;

describe("admin API", () => {
  let upstream: Upstream;
  let gw: AdminGateway;

  before(async () => {
    upstream = await startUpstream();
    gw = await startAdminGateway(config(upstream.url));
  });
  after(async () => {
    await gw.stop();
    await removeDir(gw.dir);
    await upstream.close();
  });

  it("lists, gets, creates, replaces, patches and deletes every kind of resource", async () => {
    for (const [section, sample] of Object.entries(samples)) {
      const created = await gw.admin("POST", `/${section}`, sample);
      assert.equal(created.status, 201, `${section}: ${created.text}`);
      assert.equal(created.headers.location, `/${section}/${sample.name}`);
      assert.deepEqual(created.body, sample);
      const taken = await gw.admin("POST", `/${section}`, sample);
      assert.equal(taken.status, 409, taken.text);
      assert.equal(taken.body.error.code, "GATEHOUSE_CONFIG_CONFLICT");

      const listed = await gw.admin("GET", `/${section}`);
      assert.equal(listed.status, 200);
      assert.ok(listed.body.data.some((item: { name: string }) => item.name === sample.name));
      const one = await gw.admin("GET", `/${section}/${sample.name}`);
      assert.deepEqual(one.body, sample);
      assert.equal(one.headers.etag, listed.headers.etag);

      const replaced = await gw.admin("PUT", `/${section}/${sample.name}`, {
        ...sample,
        ...(section === "consumers" ? { groups: ["ops"] } : {}),
      });
      assert.equal(replaced.status, 200, replaced.text);
      const patched = await gw.admin("PATCH", `/${section}/${sample.name}`, {
        ...(section === "services" ? { targets: [{ url: "http://127.0.0.1:10" }] } : {}),
        ...(section === "routes" ? { match: { methods: ["GET"] } } : {}),
        ...(section === "consumers" ? { metadata: { team: "blue" } } : {}),
        ...(section === "plugins" ? { config: { origins: ["https://b.example"] } } : {}),
      });
      assert.equal(patched.status, 200, patched.text);
      if (section === "routes")
        assert.deepEqual(patched.body.match, { paths: ["/v2/users"], methods: ["GET"] });
      if (section === "consumers") assert.deepEqual(patched.body.metadata, { team: "blue" });

      const deleted = await gw.admin("DELETE", `/${section}/${sample.name}`);
      assert.equal(deleted.status, 204);
      assert.equal((await gw.admin("GET", `/${section}/${sample.name}`)).status, 404);
      assert.equal((await gw.admin("DELETE", `/${section}/${sample.name}`)).status, 404);
    }
  });

  it("serves what it applied: a route added through the API answers, one deleted stops", async () => {
    assert.equal((await gw.proxy("/v3/users")).status, 404);
    const created = await gw.admin("PUT", "/routes/users-v3", {
      match: { paths: ["/v3/users"] },
      service: "users",
      rewrite: "/users",
    });
    assert.equal(created.status, 201, created.text);
    const served = await gw.proxy("/v3/users");
    assert.equal(served.status, 200);
    assert.equal(JSON.parse(served.body).url, "/users");
    assert.equal((await gw.admin("DELETE", "/routes/users-v3")).status, 204);
    assert.equal((await gw.proxy("/v3/users")).status, 404);
  });

  it("refuses a change that does not validate, naming the problem, and applies nothing", async () => {
    const before = await gw.admin("GET", "/config/versions");
    const bad = await gw.admin("POST", "/routes", {
      name: "broken",
      match: { paths: ["no-slash"] },
      service: "nowhere",
    });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error.code, "GATEHOUSE_CONFIG_INVALID");
    assert.ok(bad.body.error.requestId);
    const problems: string[] = bad.body.error.problems;
    assert.ok(
      problems.some((p) => /^routes\[1\]\.service: .*nowhere/.test(p)),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => /^routes\[1\]\.match\.paths\[0\]/.test(p)),
      problems.join("\n"),
    );

    const notJson = await gw.admin("POST", "/routes", "{ not json", {
      "content-type": "application/json",
    });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, "GATEHOUSE_ADMIN_BAD_REQUEST");
    const unknownField = await gw.admin("PATCH", "/routes/users-api", { retries: 3 });
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error.problems[0], /^routes\[0\]/);

    const afterwards = await gw.admin("GET", "/config/versions");
    assert.equal(afterwards.body.current, before.body.current);
    assert.equal((await gw.admin("GET", "/routes/broken")).status, 404);
  });

  it("refuses a change with every problem at once: the schema's, plugin names and plugin configs", async () => {
    const bad = await gw.admin("POST", "/routes", {
      name: "broken",
      match: { paths: ["no-slash"] },
      service: "users",
      plugins: [
        { name: "rate-limit", config: { limt: 5, window: "1m" } },
        { name: "no-such-plugin" },
      ],
    });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error.code, "GATEHOUSE_CONFIG_INVALID");
    assert.deepEqual(bad.body.error.problems, [
      'routes[1].match.paths[0]: path "no-slash" must start with /',
      "routes[1].plugins[0].config.limit: `limit` is required with `window`",
      'routes[1].plugins[0].config: unknown key "limt" (did you mean "limit"?)',
      'routes[1].plugins[1].name: unknown plugin "no-such-plugin"',
    ]);
    assert.equal((await gw.admin("GET", "/routes/broken")).status, 404);
  });

  it("refuses a body nested thousands deep with 400 GATEHOUSE_BODY_TOO_DEEP, on every JSON path", async () => {
    const before = await gw.admin("GET", "/config/versions");
    const deep = `{"name":"deep","match":{"paths":["/deep"]},"service":"users","x":${"[".repeat(6000)}${"]".repeat(6000)}}`;
    const json = { "content-type": "application/json" };
    for (const [method, path] of [
      ["POST", "/routes"],
      ["PUT", "/routes/deep"],
      ["PATCH", "/routes/users-api"],
      ["PUT", "/config"],
    ] as const) {
      const refused = await gw.admin(method, path, deep, json);
      assert.equal(refused.status, 400, `${method} ${path}: ${refused.text}`);
      assert.equal(refused.body.error.code, "GATEHOUSE_BODY_TOO_DEEP");
      assert.match(refused.body.error.message, /more than 100 levels/);
    }
    // YAML too, whose parser gives up on its own stack before the measure runs.
    const yaml = `routes:\n  - name: deep\n    x: ${"[".repeat(6000)}${"]".repeat(6000)}\n`;
    const refused = await gw.admin("PUT", "/config", yaml, { "content-type": "application/yaml" });
    assert.equal(refused.body.error.code, "GATEHOUSE_BODY_TOO_DEEP", refused.text);
    // At the limit the body is read, and validated as any other.
    const nested = `{"name":"deep","match":{"paths":["/deep"]},"service":"users","x":${"[".repeat(98)}${"]".repeat(98)}}`;
    const invalid = await gw.admin("POST", "/routes", nested, json);
    assert.equal(invalid.body.error.code, "GATEHOUSE_CONFIG_INVALID", invalid.text);
    assert.equal((await gw.admin("GET", "/config/versions")).body.current, before.body.current);
  });

  it("answers 405 with Allow, and 404 for paths it does not have", async () => {
    const wrong = await gw.admin("DELETE", "/config");
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, "GET, PUT");
    assert.equal((await gw.admin("GET", "/nothing-here")).status, 404);
  });

  it("gives the second of two writes based on the same version 409", async () => {
    const { headers } = await gw.admin("GET", "/routes/users-api");
    const etag = String(headers.etag);
    const [first, second] = await Promise.all([
      gw.admin("PATCH", "/routes/users-api", { preserveHost: true }, { "if-match": etag }),
      gw.admin(
        "PATCH",
        "/routes/users-api",
        { preserveHost: false, websocket: false },
        { "if-match": etag },
      ),
    ]);
    assert.deepEqual([first.status, second.status], [200, 409], `${first.text}\n${second.text}`);
    assert.equal(second.body.error.code, "GATEHOUSE_CONFIG_CONFLICT");
    assert.notEqual(first.headers.etag, etag);
    const now = await gw.admin("GET", "/routes/users-api");
    assert.equal(now.body.preserveHost, true);
    assert.equal(now.body.websocket, undefined);
    const stale = await gw.admin("PUT", "/config", { services: [] }, { "if-match": etag });
    assert.equal(stale.status, 409);
  });

  it("exports the config with credentials redacted, and takes the export back unchanged", async () => {
    const exported = await gw.admin("GET", "/config");
    assert.ok(!exported.text.includes("alice-key-0000000001"));
    assert.deepEqual(exported.body.consumers[0].credentials.keys, ["[redacted]"]);
    const same = await gw.admin("PUT", "/config", exported.body);
    assert.equal(same.status, 200, same.text);
    assert.equal(same.body.result, "unchanged");
    // Edited and sent back: the redacted key is kept, not replaced by the placeholder.
    exported.body.routes.push({ name: "extra", match: { paths: ["/extra"] }, service: "users" });
    const edited = await gw.admin("PUT", "/config", exported.body);
    assert.equal(edited.status, 200, edited.text);
    assert.equal(edited.body.result, "applied");
    assert.match(await readFile(gw.file, "utf8"), /alice-key-0000000001/);
    const yaml = await gw.admin("GET", "/config?format=yaml");
    assert.equal(yaml.headers["content-type"], "application/yaml");
    assert.match(yaml.text, /name: extra/);
    assert.equal((await gw.admin("DELETE", "/routes/extra")).status, 204);
  });

  it("refuses to change the static gateway: section", async () => {
    const exported = await gw.admin("GET", "/config");
    exported.body.gateway.shutdownTimeout = "5s";
    const refused = await gw.admin("PUT", "/config", exported.body);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /gateway: section is static/);
  });

  it("rolls back to exactly an earlier config, as a new version", async () => {
    const versions = (await gw.admin("GET", "/config/versions")).body;
    const start = versions.versions[0];
    await gw.admin("POST", "/services", samples.services);
    const rolled = await gw.admin("POST", `/config/rollback/${start.version}`);
    assert.equal(rolled.status, 200, rolled.text);
    assert.equal(rolled.body.rolledBackTo, start.version);
    assert.equal(rolled.body.hash, start.hash);
    assert.equal(rolled.body.source, "rollback");
    const old = await gw.admin("GET", `/config/versions/${start.version}`);
    assert.deepEqual((await gw.admin("GET", "/config")).body, old.body.config);
    const diff = await gw.admin(
      "GET",
      `/config/versions/${rolled.body.version}/diff?against=${start.version}`,
    );
    assert.deepEqual(diff.body.resources, []);
    assert.equal((await gw.admin("POST", "/config/rollback/99999")).status, 404);
    assert.equal((await gw.admin("GET", `/config/versions/${start.version}.0`)).status, 404);
    assert.equal(gw.gateway.revision.hash, start.hash);
  });

  it("shows each route and service as it stands, with live target state and traffic", async () => {
    const before = (await gw.admin("GET", "/runtime/routes/users-api")).body.traffic;
    for (let i = 0; i < 3; i++) assert.equal((await gw.proxy("/users")).status, 200);
    const runtime = await gw.admin("GET", "/runtime");
    assert.equal(runtime.status, 200);
    const route = runtime.body.routes.find((r: { name: string }) => r.name === "users-api");
    assert.equal(route.status, "serving");
    assert.equal(route.service, "users");
    assert.equal(route.traffic.requests, before.requests + 3);
    assert.equal(route.traffic.byStatusClass["2xx"], (before.byStatusClass["2xx"] ?? 0) + 3);
    const service = (await gw.admin("GET", "/runtime/services/users")).body;
    assert.equal(service.targets[0].url, upstream.url);
    assert.equal(service.targets[0].available, true);
  });
});

describe("admin API persistence", () => {
  it("writes changes back into the config file, keeping gateway: and its comments; a restart keeps them", async () => {
    const upstream = await startUpstream();
    let gw = await startAdminGateway(config(upstream.url));
    try {
      await gw.admin("POST", "/routes", samples.routes);
      const text = await readFile(gw.file, "utf8");
      assert.match(text, /^# the gateway: section and this comment survive admin writes/);
      assert.match(text, /name: users-v2/);
      await gw.stop();
      gw = await startFromFile(gw.file, gw.dir);
      const served = await gw.proxy("/v2/users");
      assert.equal(served.status, 200);
      assert.equal(JSON.parse(served.body).url, "/users");
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      await upstream.close();
    }
  });

  it("refuses to write over an edit made to the file that is not serving yet", async () => {
    const upstream = await startUpstream();
    const gw = await startAdminGateway(config(upstream.url));
    try {
      const edited = (await readFile(gw.file, "utf8")).replace("/users/*", "/people/*");
      await writeFile(gw.file, edited);
      const refused = await gw.admin("POST", "/services", samples.services);
      assert.equal(refused.status, 409, refused.text);
      assert.match(refused.body.error.message, /changed on disk/);
      assert.equal(await readFile(gw.file, "utf8"), edited);
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      await upstream.close();
    }
  });

  it("keeps changes in memory only with configStore.file: false", async () => {
    const upstream = await startUpstream();
    const text = config(upstream.url).replace(
      "  shutdownTimeout",
      "  configStore: { file: false }\n  shutdownTimeout",
    );
    const gw = await startAdminGateway(text);
    try {
      assert.equal((await gw.admin("POST", "/routes", samples.routes)).status, 201);
      assert.equal((await gw.proxy("/v2/users")).status, 200);
      assert.equal(await readFile(gw.file, "utf8"), text);
    } finally {
      await gw.stop();
      await removeDir(gw.dir);
      await upstream.close();
    }
  });
});

describe("admin API and reloads from the file", () => {
  it("versions file reloads as SIGHUP, and shows a refused file's problems until it is fixed", async () => {
    const upstream = await startUpstream();
    const gw = await startAdminGateway(config(upstream.url));
    const startup = await validateConfigFile(gw.file);
    const provider = new FileProvider({ file: gw.file, control: gw.gateway.control, startup });
    try {
      const good = await readFile(gw.file, "utf8");
      await writeFile(gw.file, good.replace('"/users/*"', '"/people/*"'));
      assert.equal((await provider.reload("SIGHUP")).result, "applied");
      const versions = (await gw.admin("GET", "/config/versions")).body;
      assert.deepEqual(
        { source: versions.versions[0].source, actor: versions.versions[0].actor },
        { source: "file", actor: "SIGHUP" },
      );
      assert.equal(versions.lastRefusal, undefined);

      await writeFile(gw.file, good.replace("service: users }", "service: nobody }"));
      assert.equal((await provider.reload("SIGHUP")).result, "refused");
      const refused = (await gw.admin("GET", "/config/versions")).body;
      assert.equal(refused.current, versions.current);
      assert.equal(refused.lastRefusal.actor, "SIGHUP");
      assert.match(
        refused.lastRefusal.problems[0],
        /gatehouse\.yaml:10:\d+ routes\[0\]\.service: .*nobody/,
      );
      assert.equal((await gw.proxy("/people/1")).status, 200);

      await writeFile(gw.file, good.replace('"/users/*"', '"/people/*"'));
      assert.equal((await provider.reload("SIGHUP")).result, "unchanged");
      assert.equal((await gw.admin("GET", "/config/versions")).body.lastRefusal, undefined);
    } finally {
      provider.close();
      await gw.stop();
      await removeDir(gw.dir);
      await upstream.close();
    }
  });
});

describe("admin API with the file watcher", () => {
  it("does not validate again what an admin change wrote back, but does load a later edit", async () => {
    const upstream = await startUpstream();
    const text = config(upstream.url).replace(
      "reload: { watch: false }",
      "reload: { watch: true, debounce: 20ms }",
    );
    const gw = await startAdminGateway(text);
    const startup = await validateConfigFile(gw.file);
    let loads = 0;
    const provider = new FileProvider({
      file: gw.file,
      control: gw.gateway.control,
      startup,
      load: (file) => {
        loads++;
        return validateConfigFile(file);
      },
    });
    try {
      const first = nextReload(provider, () => true, "the first look");
      provider.watch();
      assert.equal((await first).result, "unchanged");
      loads = 0;
      const seen = nextReload(provider, () => true, "the watcher's look at the written-back file");
      assert.equal((await gw.admin("POST", "/routes", samples.routes)).status, 201);
      assert.equal((await seen).result, "unchanged");
      assert.equal(loads, 0);
      const versions = (await gw.admin("GET", "/config/versions")).body;
      assert.equal(versions.versions[0].source, "admin");

      const applied = nextReload(provider, (event) => event.result === "applied", "the edit");
      await writeFile(gw.file, (await readFile(gw.file, "utf8")).replace("/v2/users", "/v3/users"));
      await applied;
      assert.equal(loads, 1);
      assert.equal((await gw.proxy("/v3/users")).status, 200);
    } finally {
      provider.close();
      await gw.stop();
      await removeDir(gw.dir);
      await upstream.close();
    }
  });
});

describe("admin API with an environment overlay", () => {
  it("refuses to write back a merged config, and applies in memory with configStore.file: false", async () => {
    const upstream = await startUpstream();
    for (const store of ["", "  configStore: { file: false }\n"]) {
      const text = config(upstream.url).replace("  shutdownTimeout", `${store}  shutdownTimeout`);
      const gw = await startAdminGateway(text);
      await writeFile(
        join(gw.dir, "gatehouse.production.yaml"),
        "routes: [{ name: users-api, preserveHost: true }]\n",
      );
      await gw.stop();
      const overlay = {
        file: join(gw.dir, "gatehouse.production.yaml"),
        environment: "production",
      };
      const merged = await startFromFile(gw.file, gw.dir, overlay);
      try {
        const answer = await merged.admin("POST", "/routes", samples.routes);
        if (store === "") {
          assert.equal(answer.status, 409, answer.text);
          assert.equal(answer.body.error.code, "GATEHOUSE_CONFIG_NOT_WRITABLE");
          assert.equal((await merged.proxy("/v2/users")).status, 404);
        } else {
          assert.equal(answer.status, 201, answer.text);
          assert.equal((await merged.proxy("/v2/users")).status, 200);
        }
        assert.equal(await readFile(gw.file, "utf8"), text);
      } finally {
        await merged.stop();
        await removeDir(gw.dir);
      }
    }
    await upstream.close();
  });
});

describe("admin API keys", () => {
  const opsKey = "ops-key-0123456789abcdef";
  const readerKey = "reader-key-0123456789abcdef";
  let gw: AdminGateway;
  let upstream: Upstream;

  before(async () => {
    upstream = await startUpstream();
    const keys = `{ port: 0, keys: [{ id: ops, key: "${opsKey}" }, { id: reader, key: "sha256:${createHash("sha256").update(readerKey).digest("hex")}", readOnly: true }] }`;
    gw = await startAdminGateway(config(upstream.url, keys));
  });
  after(async () => {
    await gw.stop();
    await removeDir(gw.dir);
    await upstream.close();
  });

  it("needs a key, as a bearer token or X-Admin-Key, and records who used it", async () => {
    const none = await gw.admin("GET", "/routes");
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, "GATEHOUSE_ADMIN_UNAUTHORIZED");
    assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
    assert.equal(
      (
        await gw.admin("GET", "/routes", undefined, {
          authorization: "Bearer wrong-key-0123456789",
        })
      ).status,
      401,
    );
    assert.equal(
      (await gw.admin("GET", "/routes", undefined, { authorization: `Bearer ${opsKey}` })).status,
      200,
    );
    const created = await gw.admin("POST", "/routes", samples.routes, { "x-admin-key": opsKey });
    assert.equal(created.status, 201);
    const versions = await gw.admin("GET", "/config/versions", undefined, {
      "x-admin-key": readerKey,
    });
    assert.equal(versions.body.versions[0].actor, "ops");
    assert.equal(versions.body.versions[0].source, "admin");
  });

  it("lets a read-only key read but not write", async () => {
    const reader = { authorization: `Bearer ${readerKey}` };
    assert.equal((await gw.admin("GET", "/config", undefined, reader)).status, 200);
    const write = await gw.admin("DELETE", "/routes/users-api", undefined, reader);
    assert.equal(write.status, 403);
    assert.equal(write.body.error.code, "GATEHOUSE_ADMIN_FORBIDDEN");
  });

  it("refuses to start off loopback without keys, at the line that says so", async () => {
    const upstream2 = await startUpstream();
    const text = config(upstream2.url, "{ host: 0.0.0.0, port: 0 }");
    const file = join(gw.dir, "open.yaml");
    await writeFile(file, text);
    try {
      await assert.rejects(validateConfigFile(file), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const problem = error.problems[0]!;
        assert.equal(problem.line, 4);
        assert.match(problem.message, /gateway\.admin.*not loopback: give it keys/);
        return true;
      });
    } finally {
      await upstream2.close();
    }
  });
});
