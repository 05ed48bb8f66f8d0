// The admin API against a web page, judged in a real headless Chromium: a page served from
// another local port tries every request a page can send without asking (fetch with a
// text/plain body, fetch with a bare Blob body, a text/plain form carrying JSON, an empty
// form) to create a service pointing elsewhere, a /login route to it, and a rollback,
// against the quickstart's keyless loopback admin API. None of it changes anything. A
// page from an origin in gateway.admin.allowedOrigins can make a change (CORS preflight
// answered); the same page without that setting cannot.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import { type BrowserPage, startBrowserPage } from "../helpers/browser.ts";

function config(admin: string): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    `  admin: ${admin}`,
    "  shutdownTimeout: 200ms",
    "  reload: { watch: false }",
    "  log: { level: silent }",
    "  accessLog: { enabled: false }",
    'services: [{ name: users, targets: [{ url: "http://127.0.0.1:9" }] }]',
    'routes: [{ name: users-api, match: { paths: ["/users"] }, service: users }]',
    "",
  ].join("\n");
}

/** A page that submits a form to the admin API into a frame, and waits for the answer. */
const formSubmitter = (admin: string) => `
  const admin = ${JSON.stringify(admin)};
  const submit = (action, fields, enctype) => {
    const frame = document.createElement("iframe");
    frame.name = "sink" + Math.random();
    document.documentElement.append(frame);
    const form = document.createElement("form");
    form.method = "POST";
    form.action = admin + action;
    form.target = frame.name;
    if (enctype) form.enctype = enctype;
    for (const [name, value] of fields) {
      const input = document.createElement("input");
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.documentElement.append(form);
    const loaded = new Promise((resolve) => { frame.onload = resolve; });
    form.submit();
    return loaded;
  };
`;

/** The attack: every request a page may send cross-origin without a preflight. */
function attack(admin: string): string {
  return `${formSubmitter(admin)}
    const service = { name: "evil", targets: [{ url: "http://203.0.113.9:80" }] };
    const route = { name: "login", match: { paths: ["/login"] }, service: "evil" };
    const sent = [];
    const send = (what, path, init) =>
      fetch(admin + path, { method: "POST", mode: "no-cors", ...init })
        .then((res) => sent.push(what + ": " + res.type), (e) => sent.push(what + ": " + e));
    const plain = { "content-type": "text/plain" };
    await send("service", "/services", { headers: plain, body: JSON.stringify(service) });
    await send("route", "/routes", { headers: plain, body: JSON.stringify(route) });
    const blob = new Blob([JSON.stringify({ ...service, name: "evil-blob" })]);
    await send("blob", "/services", { body: blob });
    // text/plain sends "name=value": this name and value make it the JSON of a service.
    await submit("/services", [[
      '{"name":"evil-form","targets":[{"url":"http://203.0.113.9","metadata":{"a":"', '"}}]}',
    ]], "text/plain");
    sent.push("form: submitted");
    return sent;
  `;
}

describe("admin API from a web page, in a real browser", () => {
  let browser: BrowserPage;
  let open: AdminGateway;
  let allowing: AdminGateway;
  const adminUrl = (gw: AdminGateway) => `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;

  before(async () => {
    browser = await startBrowserPage();
    open = await startAdminGateway(config("{ port: 0 }"));
    allowing = await startAdminGateway(
      config(`{ port: 0, allowedOrigins: ["${browser.origin}"] }`),
    );
  });

  after(async () => {
    for (const gw of [open, allowing]) {
      await gw?.stop();
      if (gw) await removeDir(gw.dir);
    }
    await browser?.close();
  });

  it("a page on another port cannot change a keyless loopback admin API", async () => {
    const file = await readFile(open.file, "utf8");
    const report = (await browser.run(attack(adminUrl(open)))) as { value?: string[] };
    assert.deepEqual(report.value, [
      "service: opaque",
      "route: opaque",
      "blob: opaque",
      "form: submitted",
    ]);
    const versions = await open.admin("GET", "/config/versions");
    assert.equal(versions.body.current, 1, JSON.stringify(versions.body.versions));
    const names = async (section: string) =>
      (await open.admin("GET", `/${section}`)).body.data.map((item: { name: string }) => item.name);
    assert.deepEqual(await names("services"), ["users"]);
    assert.deepEqual(await names("routes"), ["users-api"]);
    assert.equal(await readFile(open.file, "utf8"), file, "the config file is as it was");
  });

  it("an empty form cannot roll the config back", async () => {
    const made = await open.admin("PUT", "/routes/kept", {
      match: { paths: ["/kept"] },
      service: "users",
    });
    assert.equal(made.status, 201, made.text);
    const report = await browser.run(`${formSubmitter(adminUrl(open))}
      await submit("/config/rollback/1", []);
      return "submitted";
    `);
    assert.deepEqual(report, { value: "submitted" });
    const versions = await open.admin("GET", "/config/versions");
    assert.equal(versions.body.current, 2, JSON.stringify(versions.body.versions));
    assert.equal((await open.admin("GET", "/routes/kept")).status, 200);
  });

  it("a page from an allowed origin changes it with JSON; from any other, it cannot", async () => {
    const script = (admin: string) => `
      const res = await fetch(${JSON.stringify(admin)} + "/routes", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "dashboard-made", match: { paths: ["/d"] }, service: "users" }),
      });
      return { status: res.status, etag: res.headers.get("etag") };
    `;
    const made = (await browser.run(script(adminUrl(allowing)))) as {
      value?: { status: number; etag: string };
    };
    assert.deepEqual(made.value, { status: 201, etag: '"2"' });
    assert.equal((await allowing.admin("GET", "/routes/dashboard-made")).status, 200);

    const refused = (await browser.run(script(adminUrl(open)))) as { error?: string };
    assert.match(refused.error ?? "", /Failed to fetch/);
    assert.equal((await open.admin("GET", "/routes/dashboard-made")).status, 404);
  });
});
