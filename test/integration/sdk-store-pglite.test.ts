// The SDK's store embedded in the process (PGlite, a temporary directory per store): the
// shared store suite, and what only PGlite has: its directory is one process's, held by a
// lock another process runs into, taken over when its holder died, freed when it ends.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { store } from "gatehouse-gateway/sdk";
import { exited } from "../helpers/child-process.ts";
import { startServiceProcess } from "../helpers/sdk-service-process.ts";
import { storeSuite } from "./sdk-store.case.ts";

const holder = fileURLToPath(new URL("../fixtures/sdk/store-process.ts", import.meta.url));

let root: string;
storeSuite({
  kind: "pglite",
  async setup() {
    root = await mkdtemp(join(tmpdir(), "gatehouse-pglite-"));
  },
  open: (name, options) => store.open(undefined, { name, dataDir: join(root, name), ...options }),
  teardown: () => rm(root, { recursive: true, force: true }),
});

describe("sdk store on PGlite, one process per directory", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-pglite-lock-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("keeps its data in ./data/<name> of the working directory by default", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const db = await store.open({ name: "defaulted" });
      await db.close();
    } finally {
      process.chdir(cwd);
    }
    assert.ok(existsSync(join(dir, "data", "defaulted", "PG_VERSION")));
    assert.ok(
      !existsSync(join(dir, "data", "defaulted", "gatehouse.lock")),
      "the lock is gone after close",
    );
  });

  it("refuses a second process with GATEHOUSE_STORE_LOCKED, then opens once the holder was killed", async () => {
    const dataDir = join(dir, "held");
    const first = startServiceProcess({ DATA_DIR: dataDir, VALUE: "from the first" }, holder);
    try {
      const opened = await first.waitFor("opened", 30_000);
      const second = startServiceProcess({ DATA_DIR: dataDir }, holder);
      const refused = await second.waitFor("refused", 30_000);
      await exited(second.process);
      assert.equal(refused.code, "GATEHOUSE_STORE_LOCKED");
      assert.match(String(refused.message), new RegExp(`${dataDir}.*process ${opened.pid}`));
      // This process is refused as well, for as long as the holder lives.
      await assert.rejects(store.open(undefined, { name: "held", dataDir }), {
        code: "GATEHOUSE_STORE_LOCKED",
      });
      await first.kill(); // SIGKILL: nothing cleans up, the lock file stays behind
      assert.ok(existsSync(join(dataDir, "gatehouse.lock")));
      const db = await store.open(undefined, { name: "held", dataDir });
      try {
        assert.deepEqual((await db.query("select value from notes")).rows, [
          { value: "from the first" },
        ]);
      } finally {
        await db.close();
      }
    } finally {
      await first.kill();
    }
  });

  it("takes over a lock left with its own pid by an earlier process (a restarted container's pid 1), yet refuses a second open of a directory it holds", async () => {
    const dataDir = join(dir, "same-pid");
    await mkdir(dataDir, { recursive: true });
    // As a container killed and started again leaves it: the lock holds the pid this process
    // has now, written by the process that had it before.
    await writeFile(join(dataDir, "gatehouse.lock"), `${process.pid}\n`);
    const db = await store.open(undefined, { name: "same-pid", dataDir });
    try {
      await assert.rejects(store.open(undefined, { name: "same-pid", dataDir }), {
        code: "GATEHOUSE_STORE_LOCKED",
        message: new RegExp(`in use by this process \\(pid ${process.pid}\\)`),
      });
      assert.equal((await db.query("select 1 as one")).rowCount, 1);
    } finally {
      await db.close();
    }
  });

  it("closes the store on SIGTERM and ends the process by the signal", async () => {
    const dataDir = join(dir, "terminated");
    const child = startServiceProcess({ DATA_DIR: dataDir, VALUE: "before SIGTERM" }, holder);
    try {
      await child.waitFor("opened", 30_000);
      child.process.kill("SIGTERM");
      await exited(child.process);
      assert.equal(child.process.signalCode, "SIGTERM", child.stderr());
      assert.ok(!existsSync(join(dataDir, "gatehouse.lock")), "the lock is gone");
      const db = await store.open(undefined, { name: "terminated", dataDir });
      assert.deepEqual((await db.query("select value from notes")).rows, [
        { value: "before SIGTERM" },
      ]);
      await db.close();
    } finally {
      await child.kill();
    }
  });

  it("leaves the ending to the application's own SIGTERM listener, freeing the directory", async () => {
    const dataDir = join(dir, "own-handler");
    const child = startServiceProcess({ DATA_DIR: dataDir, OWN_SIGTERM: "1" }, holder);
    try {
      await child.waitFor("opened", 30_000);
      child.process.kill("SIGTERM");
      await child.waitFor("own-sigterm");
      await exited(child.process);
      assert.equal(child.process.exitCode, 7, child.stderr());
      assert.ok(!existsSync(join(dataDir, "gatehouse.lock")));
    } finally {
      await child.kill();
    }
  });

  it("refuses, inside a transaction, a query on the store itself that would wait forever", async () => {
    const db = await store.open(undefined, { name: "nested", dataDir: join(dir, "nested") });
    try {
      await assert.rejects(
        db.transaction(async () => {
          await db.query("select 1");
        }),
        { code: "GATEHOUSE_STORE_IN_TRANSACTION" },
      );
      // After the transaction, the same call is fine, even from a timer started inside it.
      let later: Promise<unknown> | undefined;
      await db.transaction(async (tx) => {
        await tx.query("select 1");
        later = new Promise((resolve) => setTimeout(resolve, 10)).then(() =>
          db.query("select 2 as two"),
        );
      });
      assert.deepEqual(((await later) as { rows: unknown[] }).rows, [{ two: 2 }]);
    } finally {
      await db.close();
    }
  });
});
