// What the SDK records of a thrown error: message and string code, whatever was thrown.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { thrownError } from "./thrown-error.ts";

describe("thrownError", () => {
  it("keeps an error's message and its code when the code is a string", () => {
    assert.deepEqual(thrownError(Object.assign(new Error("declined"), { code: "E_CARD" })), {
      message: "declined",
      code: "E_CARD",
    });
    assert.deepEqual(thrownError(Object.assign(new Error("odd"), { code: 42 })), {
      message: "odd",
    });
  });

  it("gives the text of what is not an Error", () => {
    assert.deepEqual(thrownError("out of stock"), { message: "out of stock" });
    assert.deepEqual(thrownError(null), { message: "null" });
    assert.deepEqual(thrownError(undefined), { message: "undefined" });
  });
});
