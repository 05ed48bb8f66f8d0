/**
 * @module server/open-file-limit
 * How many client connections a node may hold (`gateway.limits.maxClientConnections`):
 * the value set, or one derived from the process's open-file limit, so a flood of
 * connections meets a clean refusal before the process runs out of file descriptors.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "../observability/logger.ts";

/**
 * Used where the open-file limit cannot be read (no `/proc`: macOS, Windows). Development
 * machines, mostly: a production Linux host or container always has `/proc/self/limits`.
 */
export const fallbackMaxClientConnections = 4096;

/** Descriptors kept for the process itself at most (see defaultMaxClientConnections). */
const maxReserved = 1024;

/**
 * The soft `Max open files` limit from the text of `/proc/<pid>/limits`; undefined when
 * the line is missing or says `unlimited`. (Node raises its soft limit to the hard one at
 * start, so the soft value read from within is the one that binds.)
 */
export function parseOpenFileLimit(text: string): number | undefined {
  const line = /^Max open files\s+(\S+)/m.exec(text);
  if (!line || !/^\d+$/.test(line[1]!)) return undefined;
  return Number(line[1]);
}

/**
 * The client connections a process with `openFiles` descriptors can hold. A quarter of
 * the limit, at most 1024, is kept for the process itself: listening sockets, the status
 * and admin listeners' connections, store and etcd connections, log and config files,
 * and each worker thread's event loop. The rest is shared evenly between client
 * connections and the upstream connections they need (about one each under load).
 * 1024 → 384, 65 536 → 32 256, 1 048 576 → 523 776.
 */
export function defaultMaxClientConnections(openFiles: number): number {
  const reserved = Math.min(Math.floor(openFiles / 4), maxReserved);
  return Math.max(1, Math.floor((openFiles - reserved) / 2));
}

/** What `maxClientConnections` resolved to, and where it came from (for the start-up log). */
export interface ClientConnectionCap {
  /** The cap; 0 means none. */
  max: number;
  /** The process's open-file limit, when it could be read. */
  openFiles: number | undefined;
  /** The cap `auto` gives on this process (what an explicit value is compared with). */
  derived: number;
}

/** Reads this process's limits; undefined where there is no `/proc`. */
function readProcessLimits(): string | undefined {
  try {
    return readFileSync("/proc/self/limits", "latin1");
  } catch {
    return undefined;
  }
}

/**
 * Resolves `gateway.limits.maxClientConnections` for this process (`readLimits`: the text
 * of `/proc/self/limits`, undefined where there is none).
 */
export function resolveMaxClientConnections(
  setting: "auto" | number,
  readLimits: () => string | undefined = readProcessLimits,
): ClientConnectionCap {
  const limits = readLimits();
  const openFiles = limits === undefined ? undefined : parseOpenFileLimit(limits);
  const derived =
    openFiles === undefined ? fallbackMaxClientConnections : defaultMaxClientConnections(openFiles);
  return { max: setting === "auto" ? derived : setting, openFiles, derived };
}

/**
 * Says at start what the cap is and where it came from; warns when a value set by hand is
 * above what the open-file limit leaves room for (the process would run out of
 * descriptors before it refused a connection).
 */
export function logClientConnectionCap(
  log: Logger,
  setting: "auto" | number,
  { max, openFiles, derived }: ClientConnectionCap,
): void {
  if (max > derived && openFiles !== undefined) {
    log.warn(
      { maxClientConnections: max, openFiles, fitsOpenFiles: derived },
      `gateway.limits.maxClientConnections (${max}) is more than the open-file limit (${openFiles}) leaves room for with their upstream connections (${derived}): the process may run out of file descriptors before it refuses a connection; raise the limit (ulimit -n, LimitNOFILE) or lower the setting`,
    );
    return;
  }
  const source =
    openFiles === undefined
      ? "the open-file limit could not be read"
      : `the open-file limit is ${openFiles}`;
  log.info(
    { maxClientConnections: max, openFiles },
    max === 0
      ? "client connections are not limited (gateway.limits.maxClientConnections: 0)"
      : `at most ${max} client connections at once (gateway.limits.maxClientConnections: ${setting}; ${source})`,
  );
}
