// bearerToken gives the answer of the regular expression it replaces, for any header value.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../../test/helpers/fuzz.ts";
import { bearerToken } from "./credentials.ts";

const reference = /^Bearer +(\S+) *$/i;

function expected(value: string): string | undefined {
  return reference.exec(value)?.[1];
}

test("bearerToken reads what the reference expression reads", () => {
  const cases = [
    "Bearer abc",
    "bearer abc",
    "BEARER   abc   ",
    "Bearer",
    "Bearer ",
    "Bearer  ",
    "Bearerabc",
    "Bearer a b",
    "Bearer a\tb",
    "Bearer a\u00a0",
    "Bearer\tabc",
    " Bearer abc",
    "Basic abc",
    "Bearer \u017f",
    "Bearer x\u2028",
  ];
  for (const value of cases)
    assert.equal(bearerToken(value), expected(value), JSON.stringify(value));
});

test("bearerToken agrees with the reference expression on generated values", async () => {
  // Built from the pieces that matter: the scheme in any case (and near misses), runs of
  // spaces, whitespace of every kind JavaScript knows, token characters, other text.
  const piece = fc.oneof(
    fc.constantFrom("Bearer", "bearer", "BEARER", "BeArEr", "Beare", "Bearers", "Basic"),
    fc.constantFrom(" ", "  ", "\t", "\u00a0", "\u2028", "\ufeff", "\u3000", "\n"),
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,40}$/),
  );
  await checkProperty(
    fc.property(fc.array(piece, { maxLength: 6 }), (pieces) => {
      const value = pieces.join("");
      assert.equal(bearerToken(value), expected(value));
    }),
    2000,
  );
});
