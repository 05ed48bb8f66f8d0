/**
 * @module test/fuzz/paths
 * Raw request paths made of the pieces path traversal and smuggling attempts use: dot
 * segments plain and percent-encoded, encoded slashes and backslashes, doubled slashes,
 * double encoding, `;` parameters, characters that need escaping, bad escapes.
 */
import fc from "fast-check";

const pieces = [
  "/",
  "/",
  "/",
  "//",
  ".",
  "..",
  "%2e",
  "%2E",
  "%2e%2e",
  ".%2e",
  "%2e.",
  "..;",
  ".;x",
  "%2f",
  "%2F",
  "%5c",
  "%5C",
  "\\",
  "%25",
  "%252e",
  "%252f",
  "a",
  "api",
  "v1",
  "x",
  "b.c",
  "%41",
  "%7e",
  "%3A",
  "%C3%A9",
  "%00",
  "%zz",
  "%",
  "%2",
  ";",
  "~",
  '"',
  "<",
  "{",
  "|",
  ":",
  "@",
  "+",
  "%20",
  "*",
  "&",
];

/** A raw path as a client may send it (mostly starting with `/`), without query or fragment. */
export const rawPath: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom("/", "/", "/", "", "."),
    fc.array(fc.constantFrom(...pieces), { maxLength: 12 }),
  )
  .map(([start, rest]) => start + rest.join(""));
