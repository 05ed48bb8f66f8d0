// The admin API's OpenAPI document against the real answers of real gateways started from
// real config files: the document is valid OpenAPI 3.1, describes every route the server
// registers and no other, and every answer to every path and method (successes and each
// error: 400, 401, 403, 404, 405, 409, 413, 415) has a status the document lists for it, a body
// that validates against the schema it gives and the headers it promises.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compileErrors, validate as validateOpenApi } from "@readme/openapi-parser";
import { stringify as toYaml } from "yaml";
import { openApiDocument } from "../../src/admin/openapi.ts";
import { adminRoutes } from "../../src/admin/server.ts";
import { type ErrorCode, errorCatalogue } from "../../src/errors.ts";
import { Gateway } from "../../src/gateway.ts";
import { FileProvider } from "../../src/providers/file.ts";
import { registryRoutes } from "../../src/registry/api.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import {
  type Node,
  type OpenApi,
  openApiConformance,
  operationsOf,
  pointerOf,
  resolve,
} from "../helpers/openapi-conformance.ts";

const document = openApiDocument() as OpenApi;
const { call, conforms, answered } = openApiConformance(document);

const json = { "content-type": "application/json" };
/** A body nested far deeper than the admin API reads. */
const deep = `{"name":"deep","x":${"[".repeat(5000)}${"]".repeat(5000)}}`;

const ops = "ops-key-0123456789abcdef";
const viewer = "viewer-key-0123456789abcdef";

function config(admin: string, extra = ""): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    `  admin: ${admin}`,
    "  shutdownTimeout: 200ms",
    "  reload: { watch: false }",
    "  log: { level: silent }",
    "  accessLog: { enabled: false }",
    extra,
    'services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]',
    'routes: [{ name: r, match: { paths: ["/a"] }, service: s }]',
    'consumers: [{ name: alice, credentials: { keys: ["alice-key-0000000001"] } }]',
    "",
  ].join("\n");
}

/** For each kind: a new resource, a replacement body (no name), a merge patch, and one more made by PUT. */
const samples = {
  services: {
    create: { name: "orders", targets: [{ url: "http://127.0.0.1:9" }] },
    replace: { targets: [{ url: "http://127.0.0.1:10", weight: 2 }] },
    patch: { loadBalancer: { algorithm: "least-connections" } },
    other: { name: "orders-2", targets: [{ url: "http://127.0.0.1:11" }] },
  },
  routes: {
    create: { name: "v2", match: { paths: ["/v2"] }, service: "s" },
    replace: { match: { paths: ["/v2", "/v2/*"] }, service: "s" },
    patch: { stripPrefix: "/v2" },
    other: { name: "v3", match: { paths: ["/v3"] }, service: "s" },
  },
  consumers: {
    create: { name: "bob", credentials: { keys: ["bob-key-000000000001"] } },
    replace: { credentials: { keys: ["bob-key-000000000002"] }, groups: ["staff"] },
    patch: { groups: ["ops"] },
    other: { name: "carol" },
  },
  plugins: {
    create: { name: "cors", config: { origins: ["https://app.example"] } },
    replace: { config: { origins: ["https://b.example"] } },
    patch: { config: { origins: ["https://c.example"] } },
    other: { name: "security-headers", config: { frameOptions: "DENY" } },
  },
} as const;

describe("admin API OpenAPI document", () => {
  let open: AdminGateway;
  let locked: AdminGateway;
  before(async () => {
    open = await startAdminGateway(
      config(
        "{ port: 0, maxBodySize: 16kb }",
        "  configStore: { versions: 100 }\n  status: { port: 0 }\n  registry: { allowedNetworks: [127.0.0.0/8] }",
      ),
    );
    const keys = `[{ id: ops, key: "${ops}" }, { id: viewer, key: "${viewer}", readOnly: true }]`;
    locked = await startAdminGateway(
      config(`{ port: 0, keys: ${keys} }`, "  configStore: { file: false }"),
    );
  });

  after(async () => {
    for (const gw of [open, locked]) {
      await gw?.stop();
      if (gw) await removeDir(gw.dir);
    }
  });

  it("is a valid OpenAPI 3.1 document: refs resolve, responses everywhere, unique operationIds", async () => {
    const result = await validateOpenApi(structuredClone(document) as never);
    assert.ok(result.valid, result.valid ? "" : compileErrors(result));
    assert.equal(document.openapi, "3.1.0");
    const refs = JSON.stringify(document).match(/"\$ref":"#[^"]*"/g) ?? [];
    for (const ref of refs) assert.ok(resolve(document, ref.slice(9, -1)), `${ref} resolves`);
    const ids = operationsOf(document).map(({ operation }) => operation.operationId);
    assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
    for (const { method, path, operation } of operationsOf(document)) {
      assert.ok(
        Object.keys(operation.responses ?? {}).length > 0,
        `${method} ${path} has responses`,
      );
      for (const name of path.match(/(?<=\{)[^}]+(?=\})/g) ?? []) {
        const params = (operation.parameters as Node[]).map(
          (p) => resolve(document, p.$ref?.slice(1)) ?? p,
        );
        assert.ok(
          params.some((p) => p.name === name && p.in === "path"),
          `${path} declares {${name}}`,
        );
      }
    }
  });

  it("lists each error answer under its codes' status, and every admin error code somewhere", () => {
    const used = new Set<string>();
    for (const { method, path, operation } of operationsOf(document))
      for (const [status, answer] of Object.entries(operation.responses as Node)) {
        const error = resolve(document, answer.$ref?.slice(1))?.content?.["application/json"];
        const codes: string[] = error?.schema.properties.error.properties.code.enum ?? [];
        for (const code of codes) {
          used.add(code);
          const { status: expected } = errorCatalogue[code as ErrorCode];
          assert.equal(String(expected), status, `${method} ${path}: ${code} under ${status}`);
        }
      }
    const declared: string[] =
      document.components.schemas.Error.properties.error.properties.code.enum;
    const unused = declared.filter(
      (code) => !used.has(code) && code !== "GATEHOUSE_METHOD_NOT_ALLOWED",
    );
    assert.deepEqual(unused, []);
  });

  it("describes every route the server registers, and no other", () => {
    const served = [...adminRoutes(), ...Object.values(registryRoutes)].map(
      ({ method, path }) => `${method.toLowerCase()} ${path.replace(/:(\w+)/g, "{$1}")}`,
    );
    const described = operationsOf(document).map(({ method, path }) => `${method} ${path}`);
    assert.deepEqual(described.toSorted(), served.toSorted());
  });

  for (const [section, sample] of Object.entries(samples)) {
    it(`/${section}: list, get, create, replace, patch, delete and their errors`, async () => {
      const { name } = sample.create;
      const one = `/${section}/${name}`;
      await call(open, "GET", `/${section}`, 200);
      await call(open, "POST", `/${section}`, 201, sample.create);
      await call(open, "POST", `/${section}`, 409, sample.create);
      await call(open, "POST", `/${section}`, 400, "{ not json", json);
      await call(open, "POST", `/${section}`, 400, { nameless: true });
      await call(open, "POST", `/${section}`, 400, { name: "x" }, { "if-match": "banana" });
      await call(open, "POST", `/${section}`, 413, { name: "big", pad: "x".repeat(20_000) });
      await call(open, "POST", `/${section}`, 400, deep, json);
      const plain = { "content-type": "text/plain" };
      await call(open, "POST", `/${section}`, 415, JSON.stringify(sample.create), plain);
      await call(open, "POST", `/${section}`, 403, sample.create, {
        origin: "https://evil.example",
      });
      await call(open, "GET", `/${section}`, 403, undefined, { host: "evil.example" });
      const got = await call(open, "GET", one, 200);
      await call(open, "GET", `/${section}/nope`, 404);
      await call(open, "PUT", one, 200, sample.replace, { "if-match": String(got.headers.etag) });
      const { name: otherName, ...other } = sample.other;
      const another = `/${section}/${otherName}`;
      const made = await call(open, "PUT", another, 201, other);
      assert.equal(made.headers.location, another);
      await call(open, "PUT", one, 400, { ...sample.replace, name: "other" });
      await call(open, "PATCH", one, 409, sample.patch, { "if-match": String(got.headers.etag) });
      const patched = await call(open, "PATCH", one, 200, sample.patch);
      assert.deepEqual({ ...patched.body, name }, patched.body);
      await call(open, "PATCH", one, 400, { "no-such-field": true });
      await call(open, "PATCH", `/${section}/nope`, 404, sample.patch);
      await call(open, "DELETE", another, 204);
      await call(open, "DELETE", another, 404);
    });
  }

  it("/registry: register, replace, renew, read, deregister and their errors", async () => {
    const one = "/registry/services/orders/instances/o-1";
    const instance = { address: "127.0.0.1", port: 9003, version: "1.4.2", tags: ["stable"] };
    await call(open, "GET", "/registry/services", 200);
    await call(open, "GET", "/registry/services/orders", 404);
    await call(open, "PUT", one, 201, instance);
    await call(open, "PUT", one, 200, { ...instance, zone: "eu-1", healthCheck: { path: "/h" } });
    await call(open, "PUT", one, 400, { address: "127.0.0.1" });
    await call(open, "PUT", one, 400, "{ not json", json);
    await call(open, "PUT", "/registry/services/orders/instances/-x", 400, instance);
    await call(open, "PUT", one, 403, { ...instance, address: "10.0.0.7" });
    await call(open, "PUT", one, 403, instance, { origin: "https://evil.example" });
    await call(open, "PUT", one, 413, { ...instance, metadata: { pad: "x".repeat(70_000) } });
    await call(open, "PUT", one, 415, JSON.stringify(instance), { "content-type": "text/plain" });
    await call(open, "PUT", `${one}/heartbeat`, 200);
    await call(open, "PUT", "/registry/services/orders/instances/nope/heartbeat", 404);
    const listed = await call(open, "GET", "/registry/services", 200);
    assert.equal(listed.body.services[0].up, 1);
    await call(open, "GET", "/registry/services/orders", 200);
    await call(open, "GET", "/registry/services", 403, undefined, { host: "evil.example" });
    await call(open, "POST", "/registry/services", 405);
    await call(open, "DELETE", one, 204);
    await call(open, "DELETE", one, 404);
  });

  it("/config: export as JSON and YAML, replace (secrets sent back redacted), refusals", async () => {
    const exported = await call(open, "GET", "/config", 200);
    assert.equal(exported.body.consumers[0].credentials.keys[0], "[redacted]");
    await call(open, "GET", "/config?format=yaml", 200);
    await call(open, "GET", "/config", 200, undefined, { accept: "application/yaml" });
    const same = await call(open, "PUT", "/config", 200, exported.body);
    assert.equal(same.body.result, "unchanged");
    const fewer = { ...exported.body, routes: exported.body.routes.slice(1) };
    const yaml = { "content-type": "application/yaml" };
    const replaced = await call(open, "PUT", "/config", 200, toYaml(fewer), yaml);
    assert.equal(replaced.body.result, "applied");
    assert.match(await readFile(open.file, "utf8"), /alice-key-0000000001/);
    const gateway = { ...exported.body.gateway, shutdownTimeout: "9s" };
    await call(open, "PUT", "/config", 400, { ...exported.body, gateway });
    await call(open, "PUT", "/config", 400, []);
    await call(open, "PUT", "/config", 409, exported.body, { "if-match": '"1"' });
    await call(open, "PUT", "/config", 413, { ...exported.body, pad: "x".repeat(20_000) });
  });

  it("/config/versions, a version, a diff and a rollback", async () => {
    const versions = await call(open, "GET", "/config/versions", 200);
    const { current } = versions.body;
    await call(open, "GET", "/config/versions/1", 200);
    await call(open, "GET", "/config/versions/9999", 404);
    await call(open, "GET", "/config/versions/latest", 404);
    const diff = await call(open, "GET", `/config/versions/${current}/diff?against=1`, 200);
    assert.ok(diff.body.resources.length > 0);
    await call(open, "GET", "/config/versions/1/diff", 200);
    await call(open, "GET", "/config/versions/1/diff?against=9999", 404);
    await call(open, "POST", "/config/rollback/1", 409, undefined, { "if-match": '"1"' });
    await call(open, "POST", "/config/rollback/1", 400, undefined, { "if-match": "one" });
    await call(open, "POST", "/config/rollback/9999", 404);
    await call(open, "POST", "/config/rollback/1", 415, undefined, {
      "content-type": "application/x-www-form-urlencoded",
    });
    const back = await call(open, "POST", "/config/rollback/1", 200);
    assert.equal(back.body.rolledBackTo, 1);
  });

  it("/runtime, one route and one service, and /openapi.json", async () => {
    await open.proxy("/a");
    await call(open, "GET", "/runtime", 200);
    await call(open, "GET", "/runtime/routes/r", 200);
    await call(open, "GET", "/runtime/routes/nope", 404);
    await call(open, "GET", "/runtime/services/s", 200);
    await call(open, "GET", "/runtime/services/nope", 404);
    const served = await call(open, "GET", "/openapi.json", 200);
    assert.deepEqual(served.body, document);
  });

  it("a path it does not have is 404, a method a path does not have 405 with Allow", async () => {
    await call(open, "GET", "/nope", 404);
    const wrong = await call(open, "DELETE", "/config", 405);
    assert.equal(wrong.headers.allow, "GET, PUT");
    await call(open, "PATCH", "/routes", 405, {});
  });

  it("with keys: 401 without a valid one, 403 for a read-only key's change", async () => {
    const bearer = { authorization: `Bearer ${ops}` };
    await call(locked, "GET", "/routes", 401);
    await call(locked, "GET", "/routes", 401, undefined, {
      authorization: "Bearer wrong-key-00000000",
    });
    const exported = await call(locked, "GET", "/config", 200, undefined, bearer);
    assert.equal(exported.body.gateway.admin.keys[0].key, "[redacted]");
    const same = await call(locked, "PUT", "/config", 200, exported.body, bearer);
    assert.equal(same.body.result, "unchanged", "redacted keys sent back are put back");
    await call(locked, "GET", "/routes", 200, undefined, { "x-admin-key": viewer });
    const who = await call(locked, "GET", "/caller", 200, undefined, { "x-admin-key": viewer });
    assert.deepEqual(who.body, { actor: "viewer", readOnly: true });
    await call(locked, "GET", "/caller", 401);
    const body = samples.routes.create;
    await call(locked, "POST", "/routes", 403, body, { "x-admin-key": viewer });
    // A web page's change is refused even with a valid key.
    const page = { ...bearer, origin: "https://evil.example" };
    const fromPage = await call(locked, "POST", "/routes", 403, body, page);
    assert.equal(fromPage.body.error.code, "GATEHOUSE_ORIGIN_NOT_ALLOWED");
    await call(locked, "POST", "/config/rollback/1", 403, undefined, { "x-admin-key": viewer });
    const before = await readFile(locked.file, "utf8");
    await call(locked, "DELETE", "/routes/r", 204, undefined, bearer);
    assert.equal(await readFile(locked.file, "utf8"), before, "configStore.file: false");
    const versions = await call(locked, "GET", "/config/versions", 200, undefined, bearer);
    assert.equal(versions.body.versions[0].actor, "ops");
    // A config file refused on reload (SIGHUP here) shows in the versions, FILE:LINE:COL.
    const provider = new FileProvider({
      file: locked.file,
      control: locked.gateway.control,
      startup: await validateConfigFile(locked.file),
    });
    await writeFile(locked.file, before.replace("service: s", "service: nope"));
    assert.equal((await provider.reload("SIGHUP")).result, "refused");
    provider.close();
    const refused = await call(locked, "GET", "/config/versions", 200, undefined, bearer);
    assert.match(refused.body.lastRefusal.problems[0], /gatehouse\.yaml:\d+:\d+/);
  });

  it("a config merged from a base file and an overlay is not writable: 409", async () => {
    const overlay = join(open.dir, "gatehouse.staging.yaml");
    const base = join(open.dir, "base.yaml");
    await writeFile(base, config("{ port: 0 }"));
    await writeFile(
      overlay,
      'services: [{ name: s, targets: [{ url: "http://127.0.0.1:10" }] }]\n',
    );
    const gateway = new Gateway(
      await validateConfigFile(base, undefined, { file: overlay, environment: "staging" }),
    );
    await gateway.start();
    try {
      const port = gateway.addresses().admin!.port;
      const res = await fetch(`http://127.0.0.1:${port}/routes/r`, { method: "DELETE" });
      const text = await res.text();
      assert.equal(res.status, 409, text);
      conforms(
        pointerOf("paths", "/routes/{name}", "delete", "responses", 409),
        {
          status: res.status,
          headers: Object.fromEntries(res.headers),
          text,
          body: JSON.parse(text),
        },
        "DELETE /routes/r (overlay)",
      );
      assert.equal(JSON.parse(text).error.code, "GATEHOUSE_CONFIG_NOT_WRITABLE");
    } finally {
      await gateway.stop();
    }
  });

  it("/schema, /config/validate, /audit, /stats and /stats/stream", async () => {
    await call(open, "GET", "/schema", 200);
    await call(open, "GET", "/schema", 403, undefined, { host: "evil.example" });
    const exported = await call(open, "GET", "/config", 200);
    const valid = await call(open, "POST", "/config/validate", 200, exported.body);
    assert.equal(valid.body.valid, true, valid.text);
    const route = { name: "x", match: { paths: ["/x"] }, service: "nope" };
    const yaml = { "content-type": "application/yaml" };
    const wrong = toYaml({ ...exported.body, routes: [route] });
    const invalid = await call(open, "POST", "/config/validate", 200, wrong, yaml);
    assert.equal(invalid.body.valid, false);
    await call(open, "POST", "/config/validate", 400, []);
    await call(open, "POST", "/config/validate", 400, deep, json);
    const big = { ...exported.body, pad: "x".repeat(20_000) };
    await call(open, "POST", "/config/validate", 413, big);
    const plain = { "content-type": "text/plain" };
    await call(open, "POST", "/config/validate", 415, JSON.stringify(exported.body), plain);
    const page = { origin: "https://evil.example" };
    await call(open, "POST", "/config/validate", 403, exported.body, page);
    const asViewer = { "x-admin-key": viewer };
    const lockedConfig = await call(locked, "GET", "/config", 200, undefined, asViewer);
    const viewed = await call(locked, "POST", "/config/validate", 200, lockedConfig.body, asViewer);
    assert.equal(viewed.body.valid, true, "a read-only key may run a dry run");
    const audit = await call(open, "GET", "/audit?limit=5&outcome=accepted&source=admin", 200);
    assert.ok(audit.body.entries.length > 0);
    await call(open, "GET", "/audit?since=never", 400);
    await call(open, "GET", "/audit", 403, undefined, { host: "evil.example" });
    await open.proxy("/a");
    const stats = await call(open, "GET", "/stats", 200);
    assert.ok(stats.body.totals.requests > 0);
    await call(open, "GET", "/stats", 403, undefined, { host: "evil.example" });
    await call(locked, "GET", "/stats/stream", 401);
    await call(open, "GET", "/stats/stream", 403, undefined, { host: "evil.example" });
    // The stream's events each carry what GET /stats answers.
    const port = open.gateway.addresses().admin!.port;
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/stats/stream`, {
      signal: controller.signal,
    });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    for (let i = 0; i < 100 && !text.includes("\n\n"); i++)
      text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const data = /^data: (.*)$/m.exec(text)![1]!;
    answered.set("get /stats/stream", new Set([res.status]));
    conforms(
      pointerOf("paths", "/stats", "get", "responses", 200),
      {
        status: res.status,
        headers: { "content-type": "application/json", "x-request-id": "in the stream's headers" },
        text: data,
        body: JSON.parse(data),
      },
      "an event of /stats/stream",
    );
    assert.ok(res.headers.get("x-request-id"));
  });

  it("DELETE /cache: a purge by URL, prefix or tag; anything else refused", async () => {
    await call(open, "DELETE", "/cache?tag=catalog", 200);
    await call(
      open,
      "DELETE",
      `/cache?url=${encodeURIComponent("http://shop.example/a?b=1")}`,
      200,
    );
    await call(open, "DELETE", "/cache?prefix=http://shop.example/", 200);
    await call(open, "DELETE", "/cache", 400);
    await call(open, "DELETE", "/cache?tag=a&url=b", 400);
    await call(open, "DELETE", "/cache?tag=", 400);
  });

  it("every path and method of the document was answered with a success", () => {
    for (const { method, path } of operationsOf(document)) {
      const statuses = [...(answered.get(`${method} ${path}`) ?? [])];
      assert.ok(
        statuses.some((status) => status < 300),
        `${method} ${path}: ${statuses}`,
      );
    }
  });
});
