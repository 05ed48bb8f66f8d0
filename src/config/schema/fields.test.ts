// Unit tests for the shared config field checks: "exactly one of" as a config author reads it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { exactlyOneOf } from "./fields.ts";

describe("exactlyOneOf", () => {
  let chosen: string | undefined;
  const schema = z
    .object({ a: z.string().optional(), b: z.string().optional(), c: z.string().optional() })
    .superRefine((value, ctx) => {
      chosen = exactlyOneOf(value, ["a", "b", "c"], ctx, { verb: "set" });
    });
  const issues = (value: unknown) => {
    chosen = undefined;
    const result = schema.safeParse(value);
    return result.success
      ? []
      : result.error.issues.map(({ path, message }) => ({ path, message }));
  };

  it("accepts exactly one and says which", () => {
    assert.deepEqual(issues({ b: "x" }), []);
    assert.equal(chosen, "b");
  });

  it("names the choices when none is set", () => {
    assert.deepEqual(issues({}), [{ path: [], message: "set one of a, b or c" }]);
    assert.equal(chosen, undefined);
  });

  it("points at the second one set, naming all that are", () => {
    assert.deepEqual(issues({ a: "x", c: "y" }), [
      { path: ["c"], message: "set one of a, b or c, not a and c" },
    ]);
    assert.deepEqual(issues({ a: "x", b: "y", c: "z" }), [
      { path: ["b"], message: "set one of a, b or c, not a and b and c" },
    ]);
  });

  it("uses the caller's words for the choices when none is set", () => {
    const redis = z.object({ url: z.string().optional() }).superRefine((value, ctx) => {
      exactlyOneOf(value, ["url"], ctx, { verb: "give", choices: "url (a redis:// URL)" });
    });
    const result = redis.safeParse({});
    assert.equal(result.success, false);
    assert.equal(result.error?.issues[0]?.message, "give one of url (a redis:// URL)");
  });
});
