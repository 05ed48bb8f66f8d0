/**
 * @module registry/service-watchers
 * Who watches which service, for every registry store: a watcher is told its service's
 * snapshot at once, then each event of that service, and nothing once the store closes.
 */
import type { RegistryEvent, RegistryListener, ServiceSnapshot } from "./store.ts";

/** The watchers of a store's services. */
export class ServiceWatchers {
  readonly #watchers = new Map<string, Set<RegistryListener>>();
  readonly #snapshot: (service: string) => ServiceSnapshot;
  #closed = false;

  /** `snapshot` is the store's: what a watcher is told first. */
  constructor(snapshot: (service: string) => ServiceSnapshot) {
    this.#snapshot = snapshot;
  }

  /**
   * Tells `listener` the service's snapshot at once, then every event of that service;
   * returns the function that stops it. After `close()`, tells nothing.
   */
  watch(service: string, listener: RegistryListener): () => void {
    if (this.#closed) return () => {};
    let watchers = this.#watchers.get(service);
    if (!watchers) {
      watchers = new Set();
      this.#watchers.set(service, watchers);
    }
    watchers.add(listener);
    listener({ type: "snapshot", ...this.#snapshot(service) });
    return () => {
      const current = this.#watchers.get(service);
      if (!current?.delete(listener) || current.size > 0) return;
      this.#watchers.delete(service);
    };
  }

  /** Tells the event to its service's watchers (a watcher that stops meanwhile is still told). */
  emit(event: RegistryEvent): void {
    if (this.#closed) return;
    const watchers = this.#watchers.get(event.service);
    if (watchers) for (const listener of [...watchers]) listener(event);
  }

  /** Forgets every watcher; nothing is told after this. */
  close(): void {
    this.#closed = true;
    this.#watchers.clear();
  }
}
