// How often a retention is enforced: often enough for short ones, at most once a minute.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pruneIntervalMs } from "./retention.ts";

describe("retention", () => {
  it("prunes every quarter of the retention, from 50ms to a minute", () => {
    assert.equal(pruneIntervalMs(1000), 250);
    assert.equal(pruneIntervalMs(10), 50);
    assert.equal(pruneIntervalMs(3_600_000), 60_000);
    assert.equal(pruneIntervalMs(7 * 86_400_000), 60_000);
  });
});
