/**
 * @module providers/etcd-position
 * Where one node stands in etcd's history: the version it serves (as etcd had it), the
 * newest one it refused, and where etcd's history started over. The etcd follower moves
 * it as versions arrive; the etcd store reads it to write the next version after it.
 */
import type { CurrentVersion } from "./etcd-store.ts";

/** One node's place in etcd's config history. */
export class EtcdPosition {
  /** The version serving, as etcd had it: a write compares against its revision. */
  applied: CurrentVersion | undefined;
  /**
   * The newest version from etcd this node refused (it did not validate here, or could not
   * be read whole): an admin change replaces it, so a bad version never blocks the cluster.
   */
  refused: CurrentVersion | undefined;
  /** The revision of a version that starts etcd's history over (see known). */
  restartAt: number | undefined;

  /** Whether the node has dealt with `current` (applied or refused it, or a newer one). */
  known(current: CurrentVersion): boolean {
    const applied = this.applied;
    // The version serving, written again (a reseed): writes now compare against its revision.
    if (applied && current.version === applied.version && current.hash === applied.hash)
      this.applied = current;
    // A lower version written after the one serving: etcd's history started over (a node
    // seeded the emptied prefix from its file first). etcd is the source: take it.
    if (applied && current.version < applied.version && current.revision > applied.revision)
      this.restartAt = current.revision;
    // (Or etcd went back in time, restored from a backup: see wentBack.)
    if (current.revision === this.restartAt && current.revision !== applied?.revision) return false;
    return current.version <= Math.max(applied?.version ?? 0, this.refused?.version ?? 0);
  }

  /** `current`, just read, is behind what this node applied: it starts the history over. */
  wentBack(current: CurrentVersion): boolean {
    const applied = this.applied;
    if (!applied || current.version >= applied.version || current.revision >= applied.revision)
      return false;
    if (current.revision === this.restartAt) return false;
    this.restartAt = current.revision;
    return true;
  }

  /** The newest version refused here, when it is newer than the one serving. */
  get refusedVersion(): number | undefined {
    const refused = this.refused;
    const applied = this.applied;
    return refused && applied && refused.version > applied.version ? refused.version : undefined;
  }
}
