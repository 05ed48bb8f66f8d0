import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cacheSchema } from "./schema.ts";

describe("cache config", () => {
  it("works with no options: memory, 64 MB, 1 MB objects, every query argument, 5 s collapsing", () => {
    assert.deepEqual(cacheSchema.parse({}), {
      store: "memory",
      maxSize: 64 * 1024 * 1024,
      maxObjectSize: 1024 * 1024,
      key: { query: "all", headers: [], consumer: false },
      tagHeader: "cache-tag",
      collapseTimeout: 5000,
    });
  });

  it("takes durations as whole seconds and header names in lower case", () => {
    const config = cacheSchema.parse({
      ttl: "90s",
      defaultTtl: "2m",
      tagHeader: "Surrogate-Key",
      key: { headers: ["X-Tenant"] },
    });
    assert.equal(config.ttl, 90);
    assert.equal(config.defaultTtl, 120);
    assert.equal(config.tagHeader, "surrogate-key");
    assert.deepEqual(config.key.headers, ["x-tenant"]);
  });

  it("refuses a zero bound, an unknown store and a header name with spaces", () => {
    for (const bad of [
      { maxSize: 0 },
      { maxObjectSize: "0kb" },
      { store: "disk" },
      { key: { headers: ["x tenant"] } },
      { key: { query: [] } },
    ]) {
      assert.equal(cacheSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
