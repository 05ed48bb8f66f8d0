import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RouteConfig } from "../config/schema/index.ts";
import { openApiPath, routeOperations } from "./route-operations.ts";

describe("routeOperations", () => {
  it("turns :params and a * tail into OpenAPI path parameters", () => {
    assert.equal(openApiPath("/users/:id/files/*").path, "/users/{id}/files/{rest}");
    assert.deepEqual(
      openApiPath("/users/:id/files/*").parameters.map((p) => p.name),
      ["id", "rest"],
    );
    assert.equal(openApiPath("/a/:rest/*").path, "/a/{rest}/{_rest}");
    assert.equal(openApiPath("/health").parameters.length, 0);
  });

  it("lists one operation per path and method, the standard ones for a route taking any", () => {
    const listed = (route: Partial<RouteConfig["match"]>) =>
      routeOperations({ name: "r", service: "s", match: route } as RouteConfig).map(
        ({ path, method }) => `${method} ${path}`,
      );
    assert.deepEqual(listed({ paths: ["/a", "/b/:id"], methods: ["GET", "HEAD", "POST"] }), [
      "get /a",
      "post /a",
      "get /b/{id}",
      "post /b/{id}",
    ]);
    assert.deepEqual(listed({ paths: ["/x"] }), [
      "get /x",
      "post /x",
      "put /x",
      "patch /x",
      "delete /x",
    ]);
    assert.deepEqual(listed({ paths: ["/x"], methods: ["PURGE"] }), []);
  });
});
