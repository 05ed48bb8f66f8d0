// Compiling a checked config: the route table runtimeChecks built is the one the runtime
// serves (built once per reload), and a second runtime of the same config gets its own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileRuntime, runtimeChecks } from "./compile.ts";
import type { CompiledRoute } from "./runtime.ts";
import { TargetRegistry } from "./target-registry.ts";
import { parseGatewayConfig } from "./validate.ts";

const text = [
  "gateway:",
  "  listen: [{ port: 8080 }]",
  "services:",
  "  - { name: users, targets: [{ url: http://127.0.0.1:9001 }] }",
  "  - { name: orders, targets: [{ url: http://127.0.0.1:9002 }] }",
  "routes:",
  "  - { name: users, match: { paths: [/users/*] }, service: users, stripPrefix: /users }",
  "  - { name: orders, match: { paths: [/orders/:id], methods: [GET] }, service: orders }",
].join("\n");

const routeAt = (routes: ReturnType<typeof compileRuntime>["routes"], path: string) => {
  const found = routes.match("GET", "example.com", path, {}, "");
  assert.equal(found.kind, "route", path);
  return (found as { value: CompiledRoute }).value;
};

describe("compileRuntime after runtimeChecks", () => {
  it("serves every route, filled in, from the table the checks built", () => {
    // parseGatewayConfig runs runtimeChecks on the config it returns.
    const config = parseGatewayConfig(text, "gw.yaml", {});
    const runtime = compileRuntime(config, new TargetRegistry());
    const users = routeAt(runtime.routes, "/users/42");
    assert.equal(users.name, "users");
    assert.equal(users.service.name, "users");
    const hit = runtime.routes.match("GET", "example.com", "/users/42", {}, "");
    assert.equal(hit.kind === "route" && users.rewrite("/users/42", hit.pattern), "/42");
    assert.equal(routeAt(runtime.routes, "/orders/7").service.name, "orders");
    assert.equal(
      runtime.routes.match("POST", "example.com", "/orders/7", {}, "").kind,
      "method-not-allowed",
    );
  });

  it("gives a second runtime of the same config a table of its own", () => {
    const config = parseGatewayConfig(text, "gw.yaml", {});
    const first = compileRuntime(config, new TargetRegistry());
    const second = compileRuntime(config, new TargetRegistry());
    assert.notEqual(second.routes, first.routes);
    const [a, b] = [routeAt(first.routes, "/users/1"), routeAt(second.routes, "/users/1")];
    assert.notEqual(a, b);
    assert.equal(a.service, first.services.get("users"));
    assert.equal(b.service, second.services.get("users"));
    // Checking again builds a fresh table for the next compile; the served ones stay as they are.
    assert.deepEqual(runtimeChecks(config), []);
    const third = compileRuntime(config, new TargetRegistry());
    assert.equal(routeAt(third.routes, "/users/1").service, third.services.get("users"));
    assert.equal(routeAt(first.routes, "/users/1"), a);
  });
});
