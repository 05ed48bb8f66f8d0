/**
 * @module providers/file-watch
 * Tells when a file may have changed, however it was replaced: written in place, renamed
 * over (editors, `mv`), or reached through a symlink that was swapped (Kubernetes
 * ConfigMaps). Watches directories, never the file's inode, because a rename or a symlink
 * swap leaves a watch on the old inode looking at a file nobody reads any more.
 */
import { type FSWatcher, lstatSync, readlinkSync, realpathSync, watch } from "node:fs";
import { basename, dirname, isAbsolute, resolve, sep } from "node:path";

export interface FileWatchOptions {
  /** Quiet time after the last event before `onChange` runs: a burst makes one call. */
  debounce: number;
  /** The file may have changed (or appeared, or gone): read it again. */
  onChange: () => void;
  /** A directory could not be watched; watching goes on with the others. */
  onError?: (error: Error) => void;
}

/** A running watch; `close` stops it and cancels a pending `onChange`. */
export interface FileWatch {
  close(): void;
}

/** How long to wait before trying again to watch a directory that is missing. */
const retryDelay = 1000;
/** Symlink hops followed; a longer chain is a loop or a mistake. */
const maxHops = 16;

/**
 * Starts watching `file`; `onChange` is called, debounced, whenever it may have changed,
 * and once after the watch begins (a change made before it would otherwise go unseen).
 */
export function watchFile(file: string, options: FileWatchOptions): FileWatch {
  const watchers = new Map<string, FSWatcher>();
  let names = new Map<string, Set<string>>();
  let debounce: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  /** Directories whose failure was reported: said once, not at every retry. */
  const failing = new Set<string>();

  const changed = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      // The symlinks may point elsewhere now (a ConfigMap update): follow them again.
      sync();
      options.onChange();
    }, options.debounce);
  };

  /** Watches what `file` resolves to now; true if a directory was newly watched. */
  const sync = (): boolean => {
    if (closed) return false;
    names = watchedNames(resolve(file));
    for (const [dir, watcher] of watchers) {
      if (names.has(dir)) continue;
      watcher.close();
      watchers.delete(dir);
    }
    let missing = false;
    let added = false;
    for (const dir of names.keys()) {
      if (watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          // Other files in the same directory (a log file, say) are not our business.
          if (name === null || names.get(dir)?.has(name.toString())) changed();
        });
        watcher.on("error", (error) => {
          // The directory went away (an old ConfigMap generation): drop it, look again.
          watcher.close();
          watchers.delete(dir);
          options.onError?.(error);
          changed();
        });
        watchers.set(dir, watcher);
        failing.delete(dir);
        added = true;
      } catch (error) {
        missing = true;
        if (!failing.has(dir)) options.onError?.(error as Error);
        failing.add(dir);
      }
    }
    if (missing && !retry) {
      retry = setTimeout(() => {
        retry = undefined;
        // Watching again: the file may have changed while nobody looked.
        if (sync()) changed();
      }, retryDelay);
      retry.unref();
    }
    return added;
  };

  sync();
  // The file may have changed between being loaded and being watched: look once now.
  changed();
  return {
    close() {
      closed = true;
      clearTimeout(debounce);
      clearTimeout(retry);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/**
 * The directories to watch and, in each, the entry names whose change matters: every hop
 * of the symlink chain from `file` to the real file. For a ConfigMap mount that is
 * `config.yaml` and `..data` in the mount, and the file in the current `..data` target.
 */
export function watchedNames(file: string): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  const add = (path: string, name = basename(path)) => {
    const dir = dirname(path);
    const set = names.get(dir) ?? new Set<string>();
    set.add(name);
    names.set(dir, set);
  };
  let path = file;
  for (let hop = 0; hop < maxHops; hop++) {
    // A hop through a directory symlink (`..data/config.yaml`) is covered by the entry
    // for that symlink and by the real file's directory below.
    if (hop === 0 || isRealDirectory(dirname(path))) add(path);
    let target: string;
    try {
      if (!lstatSync(path).isSymbolicLink()) break;
      target = readlinkSync(path);
    } catch {
      break; // Missing for now: the watch on its directory sees it come back.
    }
    // `..data/config.yaml`: `..data` is itself a symlink swapped in this directory.
    const first = target.split(sep)[0];
    if (!isAbsolute(target) && first && first !== target && first !== "." && first !== "..")
      add(path, first);
    path = resolve(dirname(path), target);
  }
  try {
    add(realpathSync(file));
  } catch {
    // Dangling for now; the hops above are watched.
  }
  return names;
}

function isRealDirectory(dir: string): boolean {
  try {
    return realpathSync(dir) === dir;
  } catch {
    return false;
  }
}
