import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegistryNodes, triesAnotherNode } from "./registry-nodes.ts";

describe("registry nodes", () => {
  it("keeps the node in use until it fails, then takes the next, round to the first", () => {
    const nodes = new RegistryNodes(["http://a", "http://b", "http://c"]);
    assert.deepEqual([...nodes.inTurn()], ["http://a", "http://b", "http://c"]);
    nodes.failed("http://b");
    assert.equal(nodes.current, "http://a", "a node not in use failing changes nothing");
    nodes.failed("http://a");
    assert.equal(nodes.current, "http://b");
    assert.deepEqual([...nodes.inTurn()], ["http://b", "http://c", "http://a"]);
    nodes.failed("http://b");
    nodes.failed("http://c");
    assert.equal(nodes.current, "http://a");
  });

  it("moves on when a node cannot be reached or answers 5xx, never on another answer", () => {
    for (const status of [0, 500, 502, 503, 504]) assert.equal(triesAnotherNode(status), true);
    for (const status of [200, 201, 204, 400, 401, 403, 404, 408, 429])
      assert.equal(triesAnotherNode(status), false, String(status));
  });
});
