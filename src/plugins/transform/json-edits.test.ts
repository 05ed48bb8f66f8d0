// JSON body edits by dotted path: the order of the operations, paths through objects and
// lists, values shared by every request but never by two bodies, names that would reach a
// prototype, and the stream that leaves a body that is not JSON as it came.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, it } from "node:test";
import { RequestContext } from "../../pipeline/context.ts";
import {
  compileBodyEdits,
  fieldPathProblem,
  isEncoded,
  isJsonType,
  JsonEditStream,
} from "./json-edits.ts";

const ctx = new RequestContext({
  req: { method: "POST", headers: { "x-user": "ann" }, socket: {} } as unknown as IncomingMessage,
  requestId: "r1",
  route: "r",
  service: "s",
  clientAddress: "10.0.0.1",
  path: "/",
});

const edits = (config: Partial<Parameters<typeof compileBodyEdits>[0]>) =>
  compileBodyEdits({
    remove: [],
    rename: {},
    replace: {},
    set: {},
    add: {},
    maxSize: 1000,
    ...config,
  });

describe("JSON body edits", () => {
  it("applies remove, rename, set and add in that order, creating objects on the way", () => {
    const body = { a: 1, b: { c: 2, d: 3 }, keep: true };
    edits({
      remove: ["b.d", "missing.x"],
      rename: { a: "moved.a", nothing: "x" },
      replace: { keep: "replaced", absent: 1, "nowhere.deep": 2 },
      set: { "b.c": "$(header.x-user)", "new.deep.field": [1, 2] },
      add: { keep: false, "moved.a": 9, fresh: { z: 1 } },
    }).apply(body, ctx);
    assert.deepEqual(body, {
      b: { c: "ann" },
      keep: "replaced",
      moved: { a: 1 },
      new: { deep: { field: [1, 2] } },
      fresh: { z: 1 },
    });
  });

  it("indexes lists by number, and never writes through a value that is not an object", () => {
    const body = { items: [{ id: 1, secret: "x" }, { id: 2 }], name: "text" };
    edits({ remove: ["items.0.secret", "items.1"], set: { "name.first": "no" } }).apply(body, ctx);
    assert.deepEqual(body, { items: [{ id: 1 }], name: "text" });
  });

  it("skips a templated value the request lacks, and gives each body its own copy of a value", () => {
    const compiled = edits({ set: { who: "$(consumer.name)", tags: ["a"] } });
    const first: Record<string, unknown> = {};
    const second: Record<string, unknown> = {};
    compiled.apply(first, ctx);
    compiled.apply(second, ctx);
    assert.equal("who" in first, false);
    (first.tags as string[]).push("changed");
    assert.deepEqual(second.tags, ["a"]);
  });

  it("refuses field paths that are empty or reach a prototype", () => {
    assert.match(fieldPathProblem("a..b")!, /empty part/);
    assert.match(fieldPathProblem("a.__proto__.b")!, /cannot be edited/);
    assert.match(fieldPathProblem("constructor")!, /cannot be edited/);
    assert.equal(fieldPathProblem("a.b.0"), undefined);
  });

  it("streams an edited body, and one that is not JSON untouched", async () => {
    let unparsable = 0;
    const run = (input: string) =>
      text(
        Readable.from([Buffer.from(input)]).pipe(
          new JsonEditStream(edits({ set: { x: 1 } }), ctx, { unparsable: () => unparsable++ }),
        ),
      );
    assert.equal(await run('{"a":1}'), '{"a":1,"x":1}');
    assert.equal(await run("[1]"), "[1]");
    assert.equal(await run("not json"), "not json");
    assert.equal(await run('"a string"'), '"a string"');
    assert.equal(unparsable, 2);
  });

  it("knows JSON types and encoded bodies", () => {
    assert.ok(isJsonType("application/json"));
    assert.ok(isJsonType("Application/JSON; charset=utf-8"));
    assert.ok(isJsonType("application/problem+json"));
    assert.ok(!isJsonType("application/jsonl"));
    assert.ok(!isJsonType("text/json-ish"));
    assert.ok(!isJsonType(undefined));
    assert.ok(isEncoded("gzip"));
    assert.ok(!isEncoded("identity"));
    assert.ok(!isEncoded(undefined));
  });
});
