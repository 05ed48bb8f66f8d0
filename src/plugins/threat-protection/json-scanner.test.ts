// The JSON scanner: each limit refuses at the byte that passes it, whatever the chunking;
// strings reach the pattern check decoded (escapes, \u, UTF-8 split across chunks) and cut
// at the scan length; text that is not JSON is refused, JSON of every shape is not.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGatehouseError } from "../../errors.ts";
import { JsonLimitError, type JsonLimits, JsonScanner } from "./json-scanner.ts";

const limits: JsonLimits = {
  maxDepth: 3,
  maxKeys: 2,
  maxArrayLength: 3,
  maxStringLength: 10,
  maxKeyLength: 4,
  maxSize: 200,
};

/** Scans `text` split into chunks of `size` bytes; the strings seen, or what refused it. */
function scan(text: string, size = 1, of = limits): { strings: string[]; error?: Error } {
  const strings: string[] = [];
  const scanner = new JsonScanner(of, (s) => strings.push(s), 64);
  const bytes = Buffer.from(text);
  try {
    for (let i = 0; i < bytes.length; i += size) scanner.write(bytes.subarray(i, i + size));
    scanner.end();
    return { strings };
  } catch (error) {
    return { strings, error: error as Error };
  }
}

const limitOf = (text: string, size = 1) => {
  const { error } = scan(text, size);
  return error instanceof JsonLimitError ? error.limit : error?.message;
};

describe("JsonScanner", () => {
  it("lets JSON within the limits through, whatever the chunking", () => {
    const text = '{"a": [1, -2.5e3, true], "bc": {"d": [null, "x\\"y"]}} ';
    for (const size of [1, 2, 7, 1000]) assert.equal(scan(text, size).error, undefined, `${size}`);
  });

  it("refuses at each limit", () => {
    assert.equal(limitOf("[[[[1]]]]"), "maxDepth");
    assert.equal(limitOf('{"a":1,"b":2,"c":3}'), "maxKeys");
    assert.equal(limitOf("[1,2,3,4]"), "maxArrayLength");
    assert.equal(limitOf('["12345678901"]'), "maxStringLength");
    assert.equal(limitOf('{"abcde":1}'), "maxKeyLength");
    assert.equal(limitOf(`[${" ".repeat(200)}]`, 50), "maxSize");
  });

  it("counts per container: nested objects and arrays have their own counts", () => {
    assert.equal(limitOf('{"a":{"x":1,"y":2},"b":[1,2,3]}'), undefined);
    assert.equal(limitOf('[[1,2,3],[1,2,3],{"k":[]}]'), undefined);
    assert.equal(limitOf('[[1,2,3],[1,2,3],[],"x"]'), "maxArrayLength");
  });

  it("counts an escape as the bytes it takes", () => {
    assert.equal(limitOf('["\\u0041\\u0042\\u0043"]'), "maxStringLength"); // 18 bytes sent
  });

  it("hands the strings over decoded, keys included", () => {
    const text = '{"k":"a\\"b\\\\c\\n\\u003cscript\\u003e","é":"日本"}';
    const { strings, error } = scan(text, 3, { ...limits, maxStringLength: 100 });
    assert.equal(error, undefined);
    assert.deepEqual(strings, ["k", 'a"b\\c\n<script>', "é", "日本"]);
  });

  it("cuts a long string at the scan length", () => {
    const scanner = new JsonScanner({ ...limits, maxStringLength: 1000 }, (s) => seen.push(s), 5);
    const seen: string[] = [];
    scanner.write(Buffer.from('["abcdefghij"]'));
    assert.deepEqual(seen, ["abcde"]);
  });

  it("refuses what is not JSON with 400", () => {
    for (const text of ["{]", "]", "[1,2", '{"a":1', '"open', "[1] x", '{"a":\\u}', "[1,,@]"]) {
      const { error } = scan(text);
      assert.ok(isGatehouseError(error, "GATEHOUSE_THREAT_JSON_INVALID"), text);
      assert.equal(isGatehouseError(error) && error.status, 400);
    }
  });

  it("hands over only the strings with a wanted byte, escapes decoded first", () => {
    const wanted = new Uint8Array(256);
    wanted["<".charCodeAt(0)] = 1;
    const seen: string[] = [];
    const scanner = new JsonScanner(
      { ...limits, maxKeys: 10, maxStringLength: 100 },
      (s) => seen.push(s),
      64,
      wanted,
    );
    scanner.write(Buffer.from('{"id":"a<b","k":"\\u003cc","n":"plain"}'));
    scanner.end();
    assert.deepEqual(seen, ["a<b", "<c"]);
  });
});
