// The control plane's one door: every source's message waits its turn on one queue, so a
// change submitted while a file snapshot is still being read is based on the version that
// snapshot made; a snapshot equal to the config serving is dropped (no version, no audit);
// one that does not load is refused, and the next good one ends the refusal.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConfigDocument } from "../../src/config/document.ts";
import type { GatehouseConfig } from "../../src/config/schema/index.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";

const service = { name: "svc", targets: [{ url: "http://127.0.0.1:9" }] };
const route = (name: string) => ({ name, match: { paths: [`/${name}`] }, service: "svc" });
const config = (routes: string[]) =>
  testConfig({
    gateway: { configStore: { file: false } },
    services: [service],
    routes: routes.map(route),
  });
/** The config a file snapshot would hold (its `gateway:` as at start). */
const snapshot = (routes: string[]): GatehouseConfig =>
  parseGatewayConfig(JSON.stringify(config(routes)), "test-config.yaml", {});
const namesOf = (document: ConfigDocument) =>
  (document.routes as { name: string }[]).map((entry) => entry.name);
const fromFile = { source: "file", actor: "file-watch" } as const;

describe("the control plane's one door", () => {
  it("runs a change submitted during a snapshot's read after it, based on its version", async () => {
    const gw = await startGateway(config(["a"]));
    try {
      const { control } = gw.gateway;
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const read = control.submit({
        kind: "snapshot",
        origin: fromFile,
        read: async () => {
          await held;
          return snapshot(["a", "b"]);
        },
      });
      let seen: string[] | undefined;
      const change = control.submit({
        kind: "change",
        request: {
          action: "route.create",
          source: "admin",
          actor: "test",
          ifMatch: 2,
          edit: (document) => {
            seen = namesOf(document);
            return { ...document, routes: [...(document.routes as object[]), route("c")] };
          },
        },
      });
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(seen, undefined, "the change waits for the snapshot before it");
      release();
      assert.deepEqual(await read, {
        result: "applied",
        version: 2,
        hash: gw.gateway.control.history.get(2)?.hash,
      });
      const changed = await change;
      assert.equal(changed.result, "applied");
      assert.equal(changed.version.version, 3);
      assert.deepEqual(seen, ["a", "b"]);
      assert.deepEqual(namesOf(control.history.current.document), ["a", "b", "c"]);
    } finally {
      await gw.stop();
    }
  });

  it("drops a snapshot equal to the config serving, and ends a refusal with it", async () => {
    const gw = await startGateway(config(["a"]));
    try {
      const { control } = gw.gateway;
      const refused = await control.submit({
        kind: "snapshot",
        origin: fromFile,
        read: async () => {
          throw new Error("cannot read gatehouse.yaml");
        },
      });
      assert.equal(refused.result, "refused");
      assert.deepEqual(control.lastRefusal?.problems, ["Error: cannot read gatehouse.yaml"]);
      const same = await control.submit({
        kind: "snapshot",
        origin: fromFile,
        read: async () => snapshot(["a"]),
      });
      assert.equal(same.result, "unchanged");
      assert.equal(same.result === "unchanged" && same.endedRefusal, true);
      assert.equal(control.lastRefusal, undefined);
      assert.equal(control.history.current.version, 1, "no version for an unchanged snapshot");
      assert.equal(control.history.list().length, 1);
    } finally {
      await gw.stop();
    }
  });
});
