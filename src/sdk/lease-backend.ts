/**
 * @module sdk/lease-backend
 * What the lease worker asks of where an instance is registered: the registry API
 * (api-leases.ts) or etcd (etcd-leases.ts). Each answer says whether the instance holds a
 * lease, the registry no longer knows it (register again), or the request failed (and
 * whether it would fail again as it is).
 */
import type { Lease } from "./lease-messages.ts";
import type { RegistryError } from "./registry-endpoint.ts";

export type LeaseAnswer =
  /** The instance holds this lease. */
  | { kind: "lease"; lease: Lease }
  /** The registry holds no lease for it (it ran out, or the registry forgot it). */
  | { kind: "gone" }
  /** The request failed; `final`: it would be refused again as it is. */
  | { kind: "failed"; error: RegistryError; final: boolean };

/** Registers, renews and deregisters one instance. */
export interface LeaseBackend {
  /** Registers the instance (again); it then holds a fresh lease. */
  register(): Promise<LeaseAnswer>;
  /** Renews the lease the last registration granted. */
  heartbeat(): Promise<LeaseAnswer>;
  /** Deregisters the instance; false when that could not be confirmed within `timeoutMs`. */
  deregister(timeoutMs: number): Promise<boolean>;
  /** Gives up on the request in flight (closing does not wait for it). */
  abort(): void;
  /** Lets go of its connections. */
  close(): void;
}
