/**
 * @module sdk/store/directory-lock
 * One process at a time in a PGlite data directory: a `gatehouse.lock` file in it holds the
 * pid of the process using it. A lock whose process is alive refuses the directory (a
 * StoreError `GATEHOUSE_STORE_LOCKED` naming the directory and the pid); one whose process
 * has died (a crash, a SIGKILL), or that names this process without being held by it (left
 * by an earlier process with the same pid), is taken over. Held locks are removed when the process exits,
 * however it exits short of being killed.
 */
import {
  closeSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StoreError } from "./store-error.ts";

/** The lock file's name inside the data directory. */
export const lockFileName = "gatehouse.lock";

/** The lock files this process holds, removed on exit. */
const held = new Set<string>();

function releaseAllOnExit(): void {
  for (const path of held) rmSync(path, { force: true });
  held.clear();
}

/** A directory held by this process; `release()` frees it (safe to call twice). */
export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock of `directory` (which must exist) for this process, taking over a lock left by
 * a process that is no longer alive. Throws a StoreError when a live process holds it, this
 * one included.
 */
export async function lockDirectory(directory: string): Promise<DirectoryLock> {
  const path = join(directory, lockFileName);
  // Bounded: each pass takes the lock, refuses, removes a dead holder's file, or waits a
  // moment for a lock file being written.
  for (let attempt = 0; attempt < 40; attempt++) {
    if (tryCreate(path)) {
      if (held.size === 0) process.on("exit", releaseAllOnExit);
      held.add(path);
      return {
        path,
        release() {
          if (!held.delete(path)) return;
          rmSync(path, { force: true });
          if (held.size === 0) process.off("exit", releaseAllOnExit);
        },
      };
    }
    const holder = readHolder(path);
    // This pid in a lock this process does not hold was written by an earlier process that
    // had the same pid: a container started again after a kill often gets pid 1 each time.
    const earlierSelf = holder === process.pid && !held.has(path);
    if (holder !== undefined && !earlierSelf && isAlive(holder)) {
      const who = holder === process.pid ? `this process (pid ${holder})` : `process ${holder}`;
      throw new StoreError(
        "GATEHOUSE_STORE_LOCKED",
        `PGlite directory ${directory} is in use by ${who}: one process at a time may open it`,
      );
    }
    if (holder === undefined && !abandoned(path)) {
      // Created this instant by another process that has not written its pid yet.
      await sleep(50);
      continue;
    }
    // The holder died, or the file is empty long after its writer was killed: remove it if
    // it is still that same stale file, and try again.
    if (readHolder(path) === holder) removeIfPresent(path);
  }
  throw new StoreError(
    "GATEHOUSE_STORE_LOCKED",
    `PGlite directory ${directory}: could not take its lock (${path}), other processes keep taking it`,
  );
}

/** Creates the lock file with this pid; false when it exists. */
function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid in the lock file; undefined when it is gone or holds no pid. */
function readHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a lock file without a pid is old enough that its writer will never write one. */
function abandoned(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > 1_000;
  } catch {
    return true;
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
