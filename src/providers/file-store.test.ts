// The file config store behind the control plane's one ConfigStore door: a change is
// written into the file with its comments kept and told to whoever listens; a file edited
// on disk and not applied is a conflict; an environment's overlay leaves no file to write.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ConfigDocument } from "../config/document.ts";
import { isGatehouseError } from "../errors.ts";
import type { ConfigVersion } from "../runtime/config-history.ts";
import { FileConfigStore } from "./file-store.ts";

const serving: ConfigDocument = { routes: [{ name: "a" }] };
const basedOn: ConfigVersion = {
  version: 1,
  hash: "h",
  appliedAt: new Date(),
  source: "start",
  actor: "startup",
  document: serving,
};
const text = "# kept\ngateway: {}\nroutes:\n  - name: a\n";

describe("FileConfigStore", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-file-store-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes the change into the file, keeps its comments, and tells the listener the text", async () => {
    const file = join(dir, "write.yaml");
    await writeFile(file, text);
    const store = new FileConfigStore(file);
    const told: string[] = [];
    store.onWrite((_, written) => told.push(written));
    const numbered = await store.write({ routes: [{ name: "b" }] }, basedOn);
    assert.equal(numbered, undefined, "the file store leaves the numbering to the node");
    const onDisk = await readFile(file, "utf8");
    assert.match(onDisk, /# kept/);
    assert.match(onDisk, /name: b/);
    assert.deepEqual(told, [onDisk]);
  });

  it("refuses with GATEHOUSE_CONFIG_CONFLICT when the file was edited and not applied", async () => {
    const file = join(dir, "edited.yaml");
    await writeFile(file, text.replace("name: a", "name: edited"));
    const store = new FileConfigStore(file);
    await assert.rejects(store.write({ routes: [{ name: "b" }] }, basedOn), (error) =>
      isGatehouseError(error, "GATEHOUSE_CONFIG_CONFLICT"),
    );
    assert.match(await readFile(file, "utf8"), /name: edited/);
  });

  it("refuses with GATEHOUSE_CONFIG_NOT_WRITABLE under an overlay", async () => {
    const file = join(dir, "base.yaml");
    await writeFile(file, text);
    const store = new FileConfigStore(file, join(dir, "overlay.yaml"));
    await assert.rejects(store.write({ routes: [] }, basedOn), (error) =>
      isGatehouseError(error, "GATEHOUSE_CONFIG_NOT_WRITABLE"),
    );
    assert.equal(await readFile(file, "utf8"), text);
  });
});
