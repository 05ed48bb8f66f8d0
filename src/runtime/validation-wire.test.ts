// The form a checked config crosses threads in: JSON text when that loses nothing, the
// object itself (structured clone) otherwise, and the config's own JSON text for its hash.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CheckedConfig } from "../config/checked-config.ts";
import { decodeChecked, encodeChecked, exactJson, plainJson } from "./validation-wire.ts";

const checked = (config: unknown, origin?: unknown): CheckedConfig =>
  ({ config, origin, secrets: ["s"], files: [] }) as unknown as CheckedConfig;

describe("the checked config on the wire", () => {
  it("sends plain data as JSON text that decodes to it, with the config's JSON for the hash", () => {
    const config = { routes: [{ name: "a", priority: 1, skip: undefined }], on: true, none: null };
    const sent = checked(config, { file: "f.yaml", document: { routes: [] } });
    const { checked: encoded, configJson } = encodeChecked(sent);
    assert.ok("json" in encoded);
    assert.equal(encoded.json, JSON.stringify(sent));
    assert.equal(configJson, JSON.stringify(config));
    assert.deepStrictEqual(decodeChecked(encoded), JSON.parse(JSON.stringify(sent)));
  });

  it("leaves out an origin that is undefined, as JSON.stringify does", () => {
    const sent = checked({ routes: [] });
    const { checked: encoded } = encodeChecked(sent);
    assert.ok("json" in encoded);
    assert.equal(encoded.json, JSON.stringify(sent));
  });

  it("sends the object itself when JSON text would change it", () => {
    const lossy = [
      { limit: Number.POSITIVE_INFINITY },
      { ratio: Number.NaN },
      { list: [1, undefined] },
      { at: new Date(0) },
      { map: new Map() },
      { big: 1n },
    ];
    for (const config of lossy) {
      const { checked: encoded, configJson } = encodeChecked(checked(config));
      assert.ok("clone" in encoded, JSON.stringify(Object.keys(config)));
      assert.equal(configJson, undefined);
    }
  });

  it("calls exact only the data that JSON text gives back key for key", () => {
    assert.ok(exactJson({ routes: [{ name: "a", priority: 0, tags: [] }], none: null }));
    for (const value of [{ skip: undefined }, { zero: -0 }, [Number.NaN], new Date(0)]) {
      assert.equal(exactJson(value), false, JSON.stringify(value));
    }
    // The wire's own check lets both through, as it always did: a config loses nothing by them.
    assert.ok(plainJson({ skip: undefined }) && plainJson({ zero: -0 }));
  });
});
