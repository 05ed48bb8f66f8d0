// Which directory entries the file watcher listens to, for a plain file, a symlink to a
// file elsewhere, and a Kubernetes ConfigMap mount.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { watchedNames } from "./file-watch.ts";

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
