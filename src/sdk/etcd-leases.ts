/**
 * @module sdk/etcd-leases
 * An instance's lease kept straight in etcd, with no gateway in the path: the registry's
 * own etcd writes (registry/etcd-writes), so the instance is the keys a gateway's etcd
 * store writes, and every gateway node and client on that etcd sees it. Registering grants
 * a lease and writes the instance on it; a heartbeat is a keep-alive of that lease (0 left:
 * it ran out or was revoked, register again); deregistering deletes the instance's keys.
 * The registrations of the process that reach etcd the same way share one client and one
 * keep-alive stream: made with the first, closed with the last.
 */
import { Etcd3 } from "etcd3";
import { type EtcdConnection, etcdClientOptions } from "../providers/etcd-store.ts";
import { RegistryKeys } from "../registry/etcd-layout.ts";
import { EtcdInstanceWrites } from "../registry/etcd-writes.ts";
import type { Registration } from "../registry/instance.ts";
import { leaseView } from "../registry/instance-view.ts";
import type { EtcdSettings } from "./etcd-options.ts";
import type { LeaseAnswer, LeaseBackend } from "./lease-backend.ts";
import { RegistryError } from "./registry-endpoint.ts";

/** One etcd client and the writes on it, and how many registrations use them. */
interface SharedWrites {
  client: Etcd3;
  writes: EtcdInstanceWrites;
  users: number;
}

/** The clients in use, by connection (endpoints, prefix, auth, TLS, timeout). */
const clients = new Map<string, SharedWrites>();

function useWrites(connection: EtcdConnection): { writes: EtcdInstanceWrites; key: string } {
  const key = JSON.stringify(connection);
  let shared = clients.get(key);
  if (!shared) {
    const client = new Etcd3(etcdClientOptions(connection));
    const keys = new RegistryKeys(connection.prefix);
    shared = { client, writes: new EtcdInstanceWrites(client, keys, connection.timeout), users: 0 };
    clients.set(key, shared);
  }
  shared.users++;
  return { writes: shared.writes, key };
}

function releaseWrites(key: string): void {
  const shared = clients.get(key);
  if (!shared || --shared.users > 0) return;
  clients.delete(key);
  shared.writes.close();
  shared.client.close();
}

/** Keeps one instance's lease in etcd. */
export class EtcdLeases implements LeaseBackend {
  readonly #writes: EtcdInstanceWrites;
  readonly #clientKey: string;
  readonly #registration: Registration;
  readonly #endpoints: readonly string[];
  /** The etcd lease of the last registration, and the registration as stored with it. */
  #held: { lease: string; registration: Registration; registeredAt: number } | undefined;
  #closed = false;

  constructor(etcd: EtcdSettings, registration: Registration) {
    const { connection } = etcd;
    const { writes, key } = useWrites(connection);
    this.#writes = writes;
    this.#clientKey = key;
    this.#registration = registration;
    this.#endpoints = connection.endpoints;
  }

  async register(): Promise<LeaseAnswer> {
    try {
      const { stored } = await this.#writes.put(this.#registration);
      this.#held = { ...stored };
      const { registeredAt } = stored;
      return {
        kind: "lease",
        lease: leaseView(stored.registration, { registeredAt, lastHeartbeat: registeredAt }),
      };
    } catch (error) {
      return this.#failed(error);
    }
  }

  async heartbeat(): Promise<LeaseAnswer> {
    const held = this.#held;
    if (!held) return { kind: "gone" };
    try {
      const left = await this.#writes.renew(held.lease);
      if (left <= 0) return { kind: "gone" };
      return {
        kind: "lease",
        lease: leaseView(held.registration, {
          registeredAt: held.registeredAt,
          lastHeartbeat: Date.now(),
        }),
      };
    } catch (error) {
      return this.#failed(error);
    }
  }

  async deregister(timeoutMs: number): Promise<boolean> {
    const { service, id } = this.#registration;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      // No instance there any more is what was asked too.
      return await Promise.race([this.#writes.remove(service, id).then(() => true), timedOut]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  abort(): void {}

  /** Lets go of the shared client (closed with its last registration). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    releaseWrites(this.#clientKey);
  }

  #failed(error: unknown): LeaseAnswer {
    const message = `cannot reach etcd at ${this.#endpoints.join(", ")} (${(error as Error).message})`;
    return {
      kind: "failed",
      error: new RegistryError(503, "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE", message),
      final: false,
    };
  }
}
