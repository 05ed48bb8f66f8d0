import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RouteConfig } from "../config/schema/index.ts";
import { gatewayPathsOf } from "./upstream-paths.ts";

const route = (paths: string[], more: Partial<RouteConfig> = {}) =>
  ({ name: "r", service: "s", match: { paths }, ...more }) as RouteConfig;

describe("gatewayPathsOf", () => {
  it("puts stripPrefix back in front of the upstream's path", () => {
    const users = route(["/api/users", "/api/users/*"], { stripPrefix: "/api" });
    assert.deepEqual(gatewayPathsOf("/users", users), ["/api/users"]);
    assert.deepEqual(gatewayPathsOf("/users/{id}", users), ["/api/users/{id}"]);
    assert.deepEqual(gatewayPathsOf("/users/{id}/orders", users), ["/api/users/{id}/orders"]);
  });

  it("maps nothing the route would not take", () => {
    const users = route(["/api/users/:id"], { stripPrefix: "/api" });
    assert.deepEqual(gatewayPathsOf("/metrics", users), []);
    assert.deepEqual(gatewayPathsOf("/users", users), []);
    assert.deepEqual(gatewayPathsOf("/users/{id}/orders", users), []);
    assert.deepEqual(gatewayPathsOf("/users/me", route(["/api/users/admin"])), []);
  });

  it("keeps the path when the route changes nothing", () => {
    assert.deepEqual(gatewayPathsOf("/users/{id}", route(["/users/:uid"])), ["/users/{id}"]);
    assert.deepEqual(gatewayPathsOf("/", route(["/api"], { stripPrefix: "/api" })), ["/api"]);
  });

  it("reads a rewrite template backwards into the route's paths", () => {
    const v2 = route(["/users/:id", "/people/:id"], { rewrite: "/v2/users/:id" });
    assert.deepEqual(gatewayPathsOf("/v2/users/{userId}", v2), [
      "/users/{userId}",
      "/people/{userId}",
    ]);
    assert.deepEqual(gatewayPathsOf("/v1/users/{id}", v2), []);
    const files = route(["/files/*"], { rewrite: "/storage/*" });
    assert.deepEqual(gatewayPathsOf("/storage/{key}", files), ["/files/{key}"]);
  });
});
