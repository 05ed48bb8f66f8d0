/**
 * @module sdk/store/store-registry
 * The stores open in this process, so that a bus can relay the outbox of each (those open
 * now, and those opened later) without being handed them. A store is listed from the moment
 * `store.open()` resolves it until its `close()`.
 */
import type { Store } from "./store.ts";

const open = new Set<Store>();
const openedListeners = new Set<(store: Store) => void>();
const closedListeners = new Set<(store: Store) => void>();

/** The stores open in this process, in the order they were opened. */
export function openStores(): Store[] {
  return [...open];
}

/** Calls `listener` with each store opened from now on; returns an unsubscribe. */
export function onStoreOpened(listener: (store: Store) => void): () => void {
  openedListeners.add(listener);
  return () => {
    openedListeners.delete(listener);
  };
}

/** Calls `listener` with each store as it closes (before its connections end); returns an unsubscribe. */
export function onStoreClosed(listener: (store: Store) => void): () => void {
  closedListeners.add(listener);
  return () => {
    closedListeners.delete(listener);
  };
}

/** Lists a store that has just opened and tells the listeners. */
export function storeOpened(store: Store): void {
  open.add(store);
  notify(openedListeners, store);
}

/** Takes a closing store off the list and tells the listeners. */
export function storeClosed(store: Store): void {
  if (!open.delete(store)) return;
  notify(closedListeners, store);
}

function notify(listeners: Set<(store: Store) => void>, store: Store): void {
  for (const listener of [...listeners]) {
    try {
      listener(store);
    } catch (error) {
      // One listener's failure must not stop the others, nor the open or close.
      process.emitWarning(`store ${store.name}: a store registry listener threw: ${error}`);
    }
  }
}
