// What the admin API refuses from a browser, and what it lets through, over real sockets:
// a Host that does not name the listener (DNS rebinding), a change from another origin or
// with a body type a form can send; and the callers that must keep working: curl and
// scripts (no Origin, JSON, a body-less POST), the listener's own origin, an allowed
// origin (with CORS answers), IP literals, loopback names and allowed hosts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import { rawRequest } from "../helpers/raw.ts";

const config = [
  "gateway:",
  "  listen: [{ host: 127.0.0.1, port: 0 }]",
  "  admin:",
  "    port: 0",
  '    allowedOrigins: ["https://dashboard.example.com"]',
  '    allowedHosts: [admin.example.com, "*.internal.example"]',
  "  shutdownTimeout: 200ms",
  "  reload: { watch: false }",
  "  log: { level: silent }",
  "  accessLog: { enabled: false }",
  'services: [{ name: users, targets: [{ url: "http://127.0.0.1:9" }] }]',
  'routes: [{ name: users-api, match: { paths: ["/users"] }, service: users }]',
  "",
].join("\n");

describe("admin API browser safety", () => {
  let gw: AdminGateway;
  let port: number;
  let next = 0;
  /** A new route's body each time, so every accepted POST creates something. */
  const route = () =>
    JSON.stringify({ name: `r${++next}`, match: { paths: [`/r${next}`] }, service: "users" });

  async function send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ) {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      method: method as "POST",
      headers,
      body,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      code: text ? (JSON.parse(text).error?.code as string | undefined) : undefined,
      text,
    };
  }
  const json = { "content-type": "application/json" };

  before(async () => {
    gw = await startAdminGateway(config);
    port = gw.gateway.addresses().admin!.port;
  });
  after(async () => {
    await gw.stop();
    await removeDir(gw.dir);
  });

  it("takes a change with no Origin, from its own origin, and from an allowed one", async () => {
    assert.equal((await send("POST", "/routes", json, route())).status, 201);
    const own = { ...json, origin: `http://127.0.0.1:${port}` };
    assert.equal((await send("POST", "/routes", own, route())).status, 201);
    const ownByName = { ...json, host: `localhost:${port}`, origin: `http://localhost:${port}` };
    assert.equal((await send("POST", "/routes", ownByName, route())).status, 201);
    const dashboard = { ...json, origin: "https://dashboard.example.com" };
    const allowed = await send("POST", "/routes", dashboard, route());
    assert.equal(allowed.status, 201, allowed.text);
    assert.equal(allowed.headers["access-control-allow-origin"], "https://dashboard.example.com");
    assert.match(String(allowed.headers["access-control-expose-headers"]), /etag/);
  });

  it("refuses a change from any other origin, null included, with 403", async () => {
    for (const origin of [
      "https://evil.example",
      "null",
      `http://127.0.0.1:${port + 1}`,
      "https://dashboard.example.com.evil.example",
    ]) {
      const refused = await send("POST", "/routes", { ...json, origin }, route());
      assert.equal(refused.status, 403, `${origin}: ${refused.text}`);
      assert.equal(refused.code, "GATEHOUSE_ORIGIN_NOT_ALLOWED");
      assert.equal(refused.headers["access-control-allow-origin"], undefined);
    }
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const refused = await send(method, "/routes/users-api", { origin: "https://evil.example" });
      assert.equal(refused.status, 403, `${method}: ${refused.text}`);
    }
    // A browser that says the request is cross-site, without an Origin.
    const site = await send(
      "POST",
      "/routes",
      { ...json, "sec-fetch-site": "cross-site" },
      route(),
    );
    assert.equal(site.code, "GATEHOUSE_ORIGIN_NOT_ALLOWED");
    // Reads are the browser's to keep from the page (no CORS answer), not refused here.
    const read = await send("GET", "/routes", { origin: "https://evil.example" });
    assert.equal(read.status, 200);
    assert.equal(read.headers["access-control-allow-origin"], undefined);
  });

  it("refuses a change whose body a form could send (or that names no type) with 415", async () => {
    for (const type of [
      "text/plain",
      "Text/Plain; charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/octet-stream",
      undefined,
    ]) {
      const headers: Record<string, string> = type === undefined ? {} : { "content-type": type };
      const refused = await send("POST", "/routes", headers, route());
      assert.equal(refused.status, 415, `${type}: ${refused.text}`);
      assert.equal(refused.code, "GATEHOUSE_UNSUPPORTED_MEDIA_TYPE");
      assert.match(refused.text, /application\/json/);
    }
    // An empty form is still a form: it cannot POST a rollback.
    const form = { "content-type": "application/x-www-form-urlencoded", "content-length": "0" };
    assert.equal((await send("POST", "/config/rollback/1", form)).status, 415);
    const merge = { "content-type": "application/merge-patch+json" };
    const patched = await send("PATCH", "/routes/users-api", merge, '{"priority": 1}');
    assert.equal(patched.status, 200, patched.text);
    const yaml = { "content-type": "application/yaml" };
    const made = await send(
      "POST",
      "/routes",
      yaml,
      "name: by-yaml\nmatch: { paths: [/y] }\nservice: users\n",
    );
    assert.equal(made.status, 201, made.text);
  });

  it("still takes a body-less POST, as `curl -X POST` sends it", async () => {
    const answer = await rawRequest(
      port,
      `POST /config/rollback/1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(answer.status, 200, answer.text);
    assert.equal(JSON.parse(answer.body).rolledBackTo, 1);
  });

  it("answers only to a Host that names it: loopback names, IP literals, allowed hosts", async () => {
    const get = (host: string) =>
      rawRequest(port, `GET /routes HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    for (const host of [
      "evil.example",
      `evil.example:${port}`,
      "127.0.0.1.nip.io",
      "localhost.evil.example",
      "internal.example",
    ]) {
      const refused = await get(host);
      assert.equal(refused.status, 403, `${host}: ${refused.text}`);
      assert.equal(JSON.parse(refused.body).error.code, "GATEHOUSE_HOST_NOT_ALLOWED");
    }
    for (const host of [
      `127.0.0.1:${port}`,
      "10.1.2.3:9902",
      `[::1]:${port}`,
      "localhost",
      `LOCALHOST:${port}`,
      "dash.localhost",
      "admin.example.com",
      "gw-1.internal.example:9902",
    ]) {
      const answered = await get(host);
      assert.equal(answered.status, 200, `${host}: ${answered.text}`);
    }
    // HTTP/1.0 may leave Host out; no browser does.
    const old = await rawRequest(port, "GET /routes HTTP/1.0\r\n\r\n");
    assert.equal(old.status, 200, old.text);
    // A change through a rebinding name is refused before its Origin is even looked at.
    const rebound = await send("POST", "/routes", { ...json, host: "evil.example" }, route());
    assert.equal(rebound.code, "GATEHOUSE_HOST_NOT_ALLOWED");
  });

  it("answers an allowed origin's CORS preflight, and refuses any other", async () => {
    const preflight = (origin: string) =>
      send("OPTIONS", "/routes", {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
      });
    const allowed = await preflight("https://dashboard.example.com");
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers["access-control-allow-origin"], "https://dashboard.example.com");
    assert.match(String(allowed.headers["access-control-allow-methods"]), /POST/);
    assert.match(String(allowed.headers["access-control-allow-headers"]), /content-type/);
    const refused = await preflight("https://evil.example");
    assert.equal(refused.status, 403);
    assert.equal(refused.code, "GATEHOUSE_ORIGIN_NOT_ALLOWED");
    assert.equal(refused.headers["access-control-allow-origin"], undefined);
  });
});
