// The nesting measure: exact at the limit, and no recursion however deep the data.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, parseConfig } from "./load.ts";
import { maxNestingDepth, nestsDeeperThan } from "./nesting.ts";

/** `depth` levels of alternating lists and maps around a number. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

describe("nestsDeeperThan", () => {
  it("counts every list and map level, and nothing else", () => {
    assert.equal(nestsDeeperThan(1, 0), false);
    assert.equal(nestsDeeperThan("text", 0), false);
    assert.equal(nestsDeeperThan({}, 0), true);
    assert.equal(nestsDeeperThan({ a: [1, { b: 2 }] }, 3), false);
    assert.equal(nestsDeeperThan({ a: [1, { b: 2 }] }, 2), true);
    assert.equal(nestsDeeperThan(nested(maxNestingDepth)), false);
    assert.equal(nestsDeeperThan(nested(maxNestingDepth + 1)), true);
  });

  it("measures data far deeper than the stack allows a recursive walk", () => {
    const deep = JSON.parse(`${"[".repeat(200_000)}${"]".repeat(200_000)}`);
    assert.throws(() => JSON.stringify(deep), RangeError);
    assert.equal(nestsDeeperThan(deep), true);
    assert.equal(nestsDeeperThan(deep, 200_000), false);
  });
});

describe("a config file nested thousands deep", () => {
  it("is refused at its place, as the YAML parser's limit, not with a stack overflow", () => {
    const deep = `${"[".repeat(6000)}${"]".repeat(6000)}`;
    const text = `{"services": [{"name": "a", "targets": [{"url": "http://127.0.0.1:1"}], "x": ${deep}}]}`;
    assert.throws(
      () => parseConfig(text, "deep.json"),
      (error) =>
        error instanceof ConfigError &&
        /^deep\.json:1:\d+ YAML syntax: Maximum call stack size exceeded/.test(error.message),
    );
  });
});
