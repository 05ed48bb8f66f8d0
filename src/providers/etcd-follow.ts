/**
 * @module providers/etcd-follow
 * Following etcd's `current` with ONE watch per node: every version it announces, and on
 * each (re)connect one read of `current` (so a node that was away catches up), is handed
 * to the node one at a time — the newest only, when several came at once. A broken
 * connection marks the store stale (the watch reconnects by itself, resuming from the
 * last revision it saw); a watch etcd cancelled is replaced.
 */
import { type CurrentVersion, type EtcdConfigStore, MalformedVersionError } from "./etcd-store.ts";

/** What the follower hands versions to. */
export interface FollowTarget {
  /**
   * Whether the node has dealt with this version (applied or refused it, or a newer one):
   * then it is skipped.
   */
  known(current: CurrentVersion): boolean;
  /** `current` holds no version record (written by hand): refused, the node keeps serving. */
  malformed(error: MalformedVersionError): void;
  /**
   * Whether `current`, just read, is behind the version the node applied (etcd went back
   * in time, restored from a backup): the node then takes it as its history's restart.
   */
  wentBack(current: CurrentVersion): boolean;
  /** etcd holds no version at all: its data was lost or deleted while the node ran. */
  empty(): Promise<void>;
  /** Reads and applies (or refuses) one version; throws when etcd did not answer. */
  apply(current: CurrentVersion): Promise<void>;
  /** Whether etcd answers. */
  reachable(up: boolean, error?: Error): void;
}

/** How long to wait before reading etcd again after a read failed, or a watch was cancelled. */
const retryMs = 1_000;

/** Keeps a node following etcd's current version until closed. */
export class EtcdFollower {
  readonly #store: EtcdConfigStore;
  readonly #target: FollowTarget;
  /** The newest version announced and not handed over yet. */
  #pending: CurrentVersion | undefined;
  #draining = false;
  #watcher: ReturnType<EtcdConfigStore["watch"]> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(store: EtcdConfigStore, target: FollowTarget) {
    this.#store = store;
    this.#target = target;
    this.#watch();
  }

  #watch(): void {
    this.#watcher = this.#store.watch({
      change: (current) => this.offer(current),
      malformed: (error) => this.#closed || this.#target.malformed(error),
      deleted: () => void this.#catchUp(),
      connected: () => {
        this.#target.reachable(true);
        void this.#catchUp();
      },
      disconnected: (error) => this.#target.reachable(false, error),
      cancelled: (error) => {
        this.#target.reachable(false, error);
        void this.#watcher?.cancel().catch(() => {});
        if (!this.#closed) setTimeout(() => this.#closed || this.#watch(), retryMs).unref();
      },
    });
  }

  async #catchUp(): Promise<void> {
    clearTimeout(this.#retry);
    try {
      const current = await this.#store.readCurrent();
      // etcd answers: a read or write that failed before (the watch still connected) is over.
      this.#target.reachable(true);
      if (current && this.#target.wentBack(current)) this.rewatch();
      if (current) this.offer(current);
      else await this.#target.empty();
    } catch (error) {
      if (error instanceof MalformedVersionError) this.#target.malformed(error);
      else this.#failed(error as Error);
    }
  }

  /**
   * Watches again from etcd's current revision: after etcd went back in time, the watch
   * would resume from the revision it last saw, beyond etcd's, and miss what comes before.
   */
  rewatch(): void {
    void this.#watcher?.cancel().catch(() => {});
    if (!this.#closed) this.#watch();
  }

  /** Hands `current` over unless the node knows it (also for a version the node read itself). */
  offer(current: CurrentVersion): void {
    if (this.#closed || this.#target.known(current)) return;
    // By revision, not version: a lower version written later starts etcd's history over.
    if (!this.#pending || current.revision > this.#pending.revision) this.#pending = current;
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#pending && !this.#closed) {
      const current = this.#pending;
      this.#pending = undefined;
      if (this.#target.known(current)) continue;
      try {
        await this.#target.apply(current);
        this.#target.reachable(true);
      } catch (error) {
        // etcd did not answer (the target deals with a version it refuses itself).
        this.#failed(error as Error);
      }
    }
    this.#draining = false;
  }

  /** A read failed: stale until etcd answers; the watch reconnects, and this retries too. */
  #failed(error: Error): void {
    this.#target.reachable(false, error);
    clearTimeout(this.#retry);
    if (!this.#closed) this.#retry = setTimeout(() => void this.#catchUp(), retryMs).unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    void this.#watcher?.cancel().catch(() => {});
  }
}
