// The mock plugin over real sockets: it answers with its status, headers and body (JSON for
// an object, text for a string, a given content-type winning), after its delay; the
// upstream, which counts its calls, is never called, and a route whose service has no
// reachable target is answered all the same. Authentication before it still applies.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { freePort } from "../helpers/child-process.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("mock", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream();
    const nobody = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const route = (
      name: string,
      service: string,
      config: Record<string, unknown>,
      extra: { name: string; config?: Record<string, unknown> }[] = [],
    ) => ({
      name,
      match: { paths: [`/${name}`, `/${name}/*`] },
      service,
      plugins: [...extra, { name: "mock", config }],
    });
    gw = await startGateway(
      testConfig({
        services: [
          { name: "counted", targets: [{ url: up.url }] },
          { name: "unreachable", targets: [{ url: nobody }] },
        ],
        consumers: [{ name: "alice", credentials: { keys: ["alice-key-123"] } }],
        routes: [
          route("json", "counted", {
            status: 201,
            headers: { "x-stub": "yes" },
            body: { id: 1, tags: ["a"] },
          }),
          route("text", "counted", { body: "hello" }),
          route("typed", "counted", {
            body: "<p>hi</p>",
            headers: { "Content-Type": "text/html" },
          }),
          route("empty", "counted", {}),
          route("slow", "counted", { delay: "150ms", body: "late" }),
          route("maintenance", "unreachable", { status: 503, body: { message: "maintenance" } }),
          route("guarded", "counted", { body: "secret stub" }, [{ name: "key-auth" }]),
          { name: "real", match: { paths: ["/real"] }, service: "unreachable" },
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  it("answers an object as JSON with its status and headers", async () => {
    const res = await request(`${gw.url}/json/anything`, { method: "POST", body: "ignored" });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers["content-type"], "application/json");
    assert.equal(res.headers["x-stub"], "yes");
    assert.deepEqual(await res.body.json(), { id: 1, tags: ["a"] });
  });

  it("answers a string as text, unless a content-type is given; nothing as an empty 200", async () => {
    const text = await request(`${gw.url}/text`);
    assert.equal(text.statusCode, 200);
    assert.match(String(text.headers["content-type"]), /^text\/plain/);
    assert.equal(await text.body.text(), "hello");
    const typed = await request(`${gw.url}/typed`);
    assert.equal(typed.headers["content-type"], "text/html");
    assert.equal(await typed.body.text(), "<p>hi</p>");
    const empty = await request(`${gw.url}/empty`);
    assert.equal(empty.statusCode, 200);
    assert.equal(await empty.body.text(), "");
  });

  it("waits its delay before answering", async () => {
    const started = Date.now();
    const res = await request(`${gw.url}/slow`);
    assert.equal(await res.body.text(), "late");
    assert.ok(Date.now() - started >= 140, `answered after ${Date.now() - started} ms`);
  });

  it("answers on a route whose service has no reachable target", async () => {
    const res = await request(`${gw.url}/maintenance`);
    assert.equal(res.statusCode, 503);
    assert.deepEqual(await res.body.json(), { message: "maintenance" });
    const real = await request(`${gw.url}/real`);
    await real.body.text();
    assert.equal(real.statusCode, 502, "without the mock, the same service fails to connect");
  });

  it("runs after authentication", async () => {
    const refused = await request(`${gw.url}/guarded`);
    await refused.body.text();
    assert.equal(refused.statusCode, 401);
    const passed = await request(`${gw.url}/guarded`, {
      headers: { "x-api-key": "alice-key-123" },
    });
    assert.equal(await passed.body.text(), "secret stub");
  });

  it("never called the upstream", () => {
    assert.equal(up.requests.length, 0);
  });

  it("refuses a body on a 204 and a delay over 60s when the config loads", async () => {
    const config = (mock: Record<string, unknown>) =>
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/*"] },
            service: "svc",
            plugins: [{ name: "mock", config: mock }],
          },
        ],
      });
    await assert.rejects(startGateway(config({ status: 204, body: "x" })), /a 204 has no body/);
    await assert.rejects(startGateway(config({ delay: "2m" })), /at most 60s/);
    await assert.rejects(
      startGateway(config({ headers: { "x-a": "a\nb" } })),
      /cannot hold control characters/,
    );
  });
});
