import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { registryEndpoint } from "./registry-endpoint.ts";

const saved = process.env.GATEHOUSE_REGISTRY;
afterEach(() => {
  if (saved === undefined) delete process.env.GATEHOUSE_REGISTRY;
  else process.env.GATEHOUSE_REGISTRY = saved;
});

describe("registry endpoint", () => {
  it("takes one URL or a list, each without its trailing slash", () => {
    assert.deepEqual(registryEndpoint("http://10.0.0.2:9903/", "k", "t").bases, [
      "http://10.0.0.2:9903",
    ]);
    assert.deepEqual(
      registryEndpoint(["http://10.0.0.2:9903", new URL("https://10.0.0.3:9903/")], "k", "t"),
      { bases: ["http://10.0.0.2:9903", "https://10.0.0.3:9903"], key: "k" },
    );
  });

  it("reads GATEHOUSE_REGISTRY as URLs separated by commas", () => {
    process.env.GATEHOUSE_REGISTRY = "http://10.0.0.2:9903, http://10.0.0.3:9903,";
    assert.deepEqual(registryEndpoint(undefined, undefined, "t").bases, [
      "http://10.0.0.2:9903",
      "http://10.0.0.3:9903",
    ]);
  });

  it("refuses no URL at all, and any URL that is not http(s), naming the caller", () => {
    delete process.env.GATEHOUSE_REGISTRY;
    assert.throws(() => registryEndpoint(undefined, undefined, 'register("a")'), {
      name: "TypeError",
      message: /^register\("a"\): no registry/,
    });
    assert.throws(() => registryEndpoint([], undefined, "t"), /no registry/);
    assert.throws(() => registryEndpoint("", undefined, "t"), /no registry/);
    assert.throws(
      () => registryEndpoint(["http://10.0.0.2:9903", "ftp://x"], undefined, "t"),
      /registry ftp:\/\/x\/ must be an http:\/\/ or https:\/\/ URL/,
    );
    assert.throws(
      () => registryEndpoint(["http://10.0.0.2:9903", "nope"], undefined, "t"),
      /registry "nope" is not a URL/,
    );
  });
});
