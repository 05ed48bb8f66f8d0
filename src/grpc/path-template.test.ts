import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePathTemplate, templateShape } from "./path-template.ts";

describe("parsePathTemplate", () => {
  it("reads literals and a {field} variable as one segment", () => {
    const template = parsePathTemplate("/v1/shelves/{shelf_id}");
    assert.deepEqual(template.segments, [
      { kind: "literal", value: "v1" },
      { kind: "literal", value: "shelves" },
      { kind: "any" },
    ]);
    assert.deepEqual(template.variables, [{ fieldPath: ["shelf_id"], start: 2, end: 3 }]);
    assert.equal(template.verb, undefined);
  });

  it("reads a nested field path and a multi-segment pattern", () => {
    const template = parsePathTemplate("/v1/{book.name=shelves/*/books/*}");
    assert.deepEqual(template.variables, [{ fieldPath: ["book", "name"], start: 1, end: 5 }]);
    assert.equal(templateShape(template), "/v1/shelves/*/books/*");
  });

  it("reads ** and a verb after a variable", () => {
    const files = parsePathTemplate("/v1/files/{path=**}");
    assert.deepEqual(files.segments.at(-1), { kind: "rest" });
    const archive = parsePathTemplate("/v1/{name=shelves/*/books/*}:archive");
    assert.equal(archive.verb, "archive");
    assert.equal(templateShape(archive), "/v1/shelves/*/books/*:archive");
  });

  it("gives equal shapes to templates that differ only in variable names", () => {
    assert.equal(
      templateShape(parsePathTemplate("/v1/{a}/x")),
      templateShape(parsePathTemplate("/v1/{b=*}/x")),
    );
  });

  for (const [template, reason] of [
    ["v1/x", 'must start with "/"'],
    ["/v1/{name", 'a "{" is not closed'],
    ["/v1/{a.b-c}", 'bad field path "a.b-c"'],
    ["/v1/**/x", '"**" may only be the last segment'],
    ["/v1/{a}/{a}", 'variable "a" appears twice'],
    ["/v1//x", 'bad segment ""'],
    ["/v1/x/", "must not end with /"],
    ["/v1/{a={b}}", "variables cannot be nested"],
  ]) {
    it(`refuses ${template}: ${reason}`, () => {
      assert.throws(
        () => parsePathTemplate(template),
        (error: Error) => error.message === `path template "${template}": ${reason}`,
      );
    });
  }
});
