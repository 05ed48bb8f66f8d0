// Which directory entries the file watcher listens to, for a plain file, a symlink to a
// file elsewhere, and a Kubernetes ConfigMap mount; and a watch on a directory that does
// not exist yet, which reports once and starts once the directory is there.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { watchedNames, watchFile } from "./file-watch.ts";

const asObject = (names: Map<string, Set<string>>) =>
  Object.fromEntries([...names].map(([dir, set]) => [dir, [...set].sort()]));

describe("watchedNames", () => {
  let dir: string;
  before(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), "gatehouse-watch-")));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("a plain file: its name in its directory", async () => {
    await writeFile(join(dir, "plain.yaml"), "");
    assert.deepEqual(asObject(watchedNames(join(dir, "plain.yaml"))), { [dir]: ["plain.yaml"] });
  });

  it("a symlink to a file elsewhere: the link's name and the real file's", async () => {
    await mkdir(join(dir, "elsewhere"));
    await writeFile(join(dir, "elsewhere", "real.yaml"), "");
    await symlink(join(dir, "elsewhere", "real.yaml"), join(dir, "link.yaml"));
    assert.deepEqual(asObject(watchedNames(join(dir, "link.yaml"))), {
      [dir]: ["link.yaml"],
      [join(dir, "elsewhere")]: ["real.yaml"],
    });
  });

  it("a ConfigMap mount: the file and ..data in the mount, the file in the current generation", async () => {
    const mount = join(dir, "cm");
    await mkdir(join(mount, "..2026_11_23_00_00_01.1"), { recursive: true });
    await writeFile(join(mount, "..2026_11_23_00_00_01.1", "config.yaml"), "");
    await symlink("..2026_11_23_00_00_01.1", join(mount, "..data"));
    await symlink("..data/config.yaml", join(mount, "config.yaml"));
    assert.deepEqual(asObject(watchedNames(join(mount, "config.yaml"))), {
      [mount]: ["..data", "config.yaml"],
      [join(mount, "..2026_11_23_00_00_01.1")]: ["config.yaml"],
    });
  });

  it("a missing file: still its name in its directory, to see it appear", () => {
    assert.deepEqual(asObject(watchedNames(join(dir, "missing.yaml"))), {
      [dir]: ["missing.yaml"],
    });
  });
});

describe("watchFile", () => {
  it("reports a missing directory once, then watches it once it exists", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-watch-"));
    const file = join(dir, "later", "config.yaml");
    const errors: Error[] = [];
    let changes = 0;
    const watch = watchFile(file, {
      debounce: 20,
      onChange: () => changes++,
      onError: (error) => errors.push(error),
    });
    try {
      assert.equal(errors.length, 1);
      await mkdir(join(dir, "later"));
      // The retry (every second) finds the directory and looks at the file once.
      const deadline = Date.now() + 5000;
      while (changes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(changes, 1);
      const before = changes;
      await writeFile(file, "x");
      while (changes === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(changes, before + 1, "the new directory is watched");
      assert.equal(errors.length, 1, "the missing directory was reported once, not per retry");
    } finally {
      watch.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
