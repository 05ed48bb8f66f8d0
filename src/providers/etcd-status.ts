/**
 * @module providers/etcd-status
 * Whether a node can reach etcd, said once each time it changes: a warning when it cannot
 * (the node serves its last applied config, stale, and retries; admin changes are
 * refused), an info line when it can again, and `gatehouse_config_store_up{store="etcd"}`.
 */
import type { Logger } from "../observability/logger.ts";
import { configStoreUp } from "../observability/metrics.ts";

/** The etcd store's reachability, as one node sees it. */
export class EtcdStatus {
  readonly #log: Logger;
  readonly #endpoints: readonly string[];
  /** Unknown until the first attempt to reach etcd. */
  #up: boolean | undefined;

  constructor(log: Logger, endpoints: readonly string[]) {
    this.#log = log;
    this.#endpoints = endpoints;
  }

  /** Records whether etcd answered; `version` is the config serving, `error` why not. */
  set(up: boolean, version: number | undefined, error?: Error): void {
    if (up === this.#up) return;
    const was = this.#up;
    this.#up = up;
    configStoreUp.set("etcd", up ? 1 : 0);
    const fields = { endpoints: this.#endpoints, configVersion: version };
    if (!up)
      this.#log.warn(
        { ...fields, error: error?.message },
        "etcd config store unreachable: serving the last applied config (stale), retrying; admin changes are refused",
      );
    else if (was === false) this.#log.info(fields, "etcd config store reachable again");
  }
}
