import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { cachedProtos, maxProtoSets, protoSetsParsed } from "./proto-cache.ts";

const service = (rpc: string) =>
  `syntax = "proto3";\npackage c;\nimport "shared.proto";\nservice S { rpc ${rpc}(M) returns (M); }\n`;
const shared = (field: string) =>
  `syntax = "proto3";\npackage c;\nmessage M { string ${field} = 1; }\n`;

/** The user's files among those read, by name, and the fields of `c.M`. */
function shapeOf(result: ReturnType<typeof cachedProtos>) {
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return {
    methods: result.protos.methods.map(({ method }) => method.name),
    fields: result.protos.registry.getMessage("c.M")!.fields.map((field) => field.name),
  };
}

const root = mkdtempSync(path.join(tmpdir(), "gatehouse-proto-cache-"));
let folders = 0;

/** Writes `files` (name → text) into a new folder and returns its path. */
function protoFolder(files: Record<string, string>): string {
  const dir = path.join(root, String(folders++));
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

describe("cachedProtos", () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it("parses a set once while its files hold the same text, again after one changes", () => {
    const dir = protoFolder({ "s.proto": service("Get"), "shared.proto": shared("a") });
    const sources = { protos: ["s.proto"], baseDir: dir };
    const before = protoSetsParsed();
    const first = cachedProtos(sources);
    assert.equal(cachedProtos(sources), first, "the same parse");
    writeFileSync(path.join(dir, "shared.proto"), shared("a")); // saved, unchanged
    assert.equal(cachedProtos(sources), first);
    assert.equal(protoSetsParsed() - before, 1);

    writeFileSync(path.join(dir, "shared.proto"), shared("b")); // an imported file edited
    assert.deepEqual(shapeOf(cachedProtos(sources)), { methods: ["Get"], fields: ["b"] });
    writeFileSync(path.join(dir, "s.proto"), service("Put")); // the named file edited
    assert.deepEqual(shapeOf(cachedProtos(sources)), { methods: ["Put"], fields: ["b"] });
    assert.equal(protoSetsParsed() - before, 3);
  });

  it("parses again when a file appears where an import was looked for first", () => {
    const dir = protoFolder({ "s.proto": service("Get") });
    mkdirSync(path.join(dir, "first"));
    mkdirSync(path.join(dir, "second"));
    writeFileSync(path.join(dir, "second/shared.proto"), shared("from_second"));
    const sources = { protos: ["s.proto"], includeDirs: ["first", "second", "."], baseDir: dir };
    assert.deepEqual(shapeOf(cachedProtos(sources)).fields, ["from_second"]);
    writeFileSync(path.join(dir, "first/shared.proto"), shared("from_first"));
    assert.deepEqual(shapeOf(cachedProtos(sources)).fields, ["from_first"]);
  });

  it("keeps a set that fails too, until the file is fixed", () => {
    const dir = protoFolder({ "s.proto": 'syntax = "proto3";\nmessage {\n' });
    const sources = { protos: ["s.proto"], baseDir: dir };
    const before = protoSetsParsed();
    const broken = cachedProtos(sources);
    assert.equal(broken.ok, false);
    assert.equal(cachedProtos(sources), broken);
    assert.equal(protoSetsParsed() - before, 1);
    writeFileSync(path.join(dir, "s.proto"), shared("x"));
    assert.equal(cachedProtos(sources).ok, true);
  });

  it("keeps a bounded number of sets, the least recently used dropped first", () => {
    const sets = Array.from({ length: maxProtoSets + 1 }, (_, i) => ({
      protos: ["m.proto"],
      baseDir: protoFolder({ "m.proto": shared(`f${i}`) }),
    }));
    for (const sources of sets) cachedProtos(sources);
    const before = protoSetsParsed();
    cachedProtos(sets[maxProtoSets]!);
    assert.equal(protoSetsParsed() - before, 0, "the last one is kept");
    cachedProtos(sets[0]!);
    assert.equal(protoSetsParsed() - before, 1, "the first one was dropped");
  });
});
