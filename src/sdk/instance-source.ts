/**
 * @module sdk/instance-source
 * Where a service client learns a service's instances: the registry API's watch stream
 * (instance-watch.ts), or etcd itself, the keys the gateway's etcd store keeps
 * (etcd-instance-watch.ts). Both tell every instance after each change, keep the last
 * known ones while they cannot follow, and say why.
 */

import { EtcdInstanceWatch } from "./etcd-instance-watch.ts";
import type { EtcdOptions } from "./etcd-options.ts";
import { InstanceWatch, type RegistryInstance } from "./instance-watch.ts";
import { type RegistryError, type RegistryUrls, registryEndpoint } from "./registry-endpoint.ts";

/** One service's instances as a client follows them. */
export interface InstanceSource {
  /** The instances as last heard of, down ones included. */
  readonly instances: RegistryInstance[];
  /** Whether the instances are the registry's (its first answer came), not just none yet. */
  readonly synced: boolean;
  /** Why following the registry fails, while it does. */
  readonly lastError: RegistryError | undefined;
  /** Resolves once synced, or after `timeoutMs`, whichever comes first. */
  whenSynced(timeoutMs: number): Promise<void>;
  /** Stops following. */
  close(): Promise<void>;
}

/** Where a client finds the registry: its API (`registry`, `key`) or etcd (`etcd`). */
export interface RegistryLocation {
  registry?: RegistryUrls | undefined;
  key?: string | undefined;
  etcd?: EtcdOptions | undefined;
}

/**
 * Follows `service` where `location` says: etcd when it gives `etcd`, else the registry API
 * (`registry`, or `GATEHOUSE_REGISTRY`). `onChange` gets every instance after each change.
 */
export function instanceSource(
  service: string,
  location: RegistryLocation,
  onChange: (instances: readonly RegistryInstance[]) => void,
  caller: string,
): InstanceSource {
  if (location.etcd !== undefined) {
    if (location.registry !== undefined) {
      throw new TypeError(`${caller}: give registry or etcd, not both`);
    }
    return new EtcdInstanceWatch(location.etcd, service, onChange, caller);
  }
  const endpoint = registryEndpoint(location.registry, location.key, caller);
  return new InstanceWatch(endpoint, service, onChange);
}
