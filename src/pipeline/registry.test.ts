// A plugin registry: names config may use, one plugin per name, registries apart.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { builtinPlugins, createPluginRegistry } from "../plugins/index.ts";
import { definePlugin } from "./plugin.ts";
import { PluginRegistry } from "./registry.ts";

const plugin = (name: string) =>
  definePlugin({ name, schema: z.strictObject({}), priority: 1, create: () => ({}) });

describe("plugin registry", () => {
  it("knows what it was given, refuses a second plugin of one name, takes the same one again", () => {
    const one = plugin("one");
    const registry = new PluginRegistry([one]);
    registry.register(one);
    assert.throws(
      () => registry.register(plugin("one")),
      /a plugin named "one" is already registered/,
    );
    assert.deepEqual(registry.names(), ["one"]);
    assert.equal(registry.get("one"), one);
    assert.equal(registry.get("two"), undefined);
  });

  it("starts each gateway's registry from the built-ins, and keeps registries apart", () => {
    const first = createPluginRegistry([plugin("mine")]);
    const second = createPluginRegistry();
    assert.deepEqual(first.names(), [...builtinPlugins.map((builtin) => builtin.name), "mine"]);
    assert.equal(second.get("mine"), undefined);
    assert.throws(() => createPluginRegistry([plugin("jwt")]), /"jwt" is already registered/);
  });
});
