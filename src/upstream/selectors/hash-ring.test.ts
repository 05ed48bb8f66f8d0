// Unit tests for the hash function and the ring it builds.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { HashRing, maxPoints, pointsPerWeight } from "./hash-ring.ts";
import { fnv1a32, hash32, mix32 } from "./hash32.ts";
import { destroyFleet, fleet } from "./test-fleet.ts";

after(destroyFleet);

describe("hash32", () => {
  it("is FNV-1a 32 (reference vectors) under MurmurHash3's finaliser", () => {
    assert.equal(fnv1a32(""), 0x811c9dc5);
    assert.equal(fnv1a32("a"), 0xe40c292c);
    assert.equal(fnv1a32("foobar"), 0xbf9cf968);
    assert.equal(mix32(0), 0);
    assert.equal(hash32("foobar"), mix32(0xbf9cf968));
  });

  it("spreads keys that differ only in their last character over the whole range", () => {
    const top = new Set(Array.from({ length: 256 }, (_, i) => hash32(`10.0.0.${i}`) >>> 28));
    assert.equal(top.size, 16);
  });
});

describe("HashRing", () => {
  it("gives each target points in proportion to its weight", () => {
    const targets = fleet([1, 2, 5]);
    const ring = new HashRing(targets);
    assert.equal(ring.size, pointsPerWeight * 8);
    const owned = [0, 0, 0];
    for (let point = 0; point < ring.size; point++) owned[ring.owner(point)]!++;
    assert.deepEqual(
      owned,
      [1, 2, 5].map((weight) => weight * pointsPerWeight),
    );
  });

  it("scales every target's points down alike past the size cap", () => {
    const ring = new HashRing(fleet([5_000, 5_000]));
    assert.equal(ring.size, maxPoints);
  });

  it("keeps its points in ascending order", () => {
    const ring = new HashRing(fleet([3, 1, 2, 5, 1]));
    for (let point = 1; point < ring.size; point++)
      assert.ok(ring.pointHash(point - 1) <= ring.pointHash(point), `point ${point}`);
  });

  it("finds the first point at or after a hash and wraps past the top", () => {
    const ring = new HashRing(fleet([1]));
    assert.equal(ring.find(0), 0);
    assert.equal(ring.find(0xffffffff), 0);
    const middle = ring.find(0x80000000);
    assert.ok(middle > 0 && middle < ring.size);
    assert.ok(ring.pointHash(middle) >= 0x80000000 && ring.pointHash(middle - 1) < 0x80000000);
  });
});
