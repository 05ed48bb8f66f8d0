/**
 * @module registry/etcd-writes
 * The registry's writes to etcd, in the layout of registry/etcd-layout: a registration
 * grants the instance a lease of its own and writes both of its keys in one transaction; a
 * heartbeat renews the lease on the shared keep-alive stream (registry/etcd-keepalive);
 * deregistering deletes both keys at one revision and revokes the lease. No reads of the
 * registry and no watch: the etcd store (every gateway node) adds its mirror around these,
 * and an SDK registering straight to etcd uses them alone.
 */
import type { Etcd3 } from "etcd3";
import { LeaseKeepAlive } from "./etcd-keepalive.ts";
import {
  decodeInstance,
  encodeInstance,
  type RegistryKeys,
  type StoredInstance,
} from "./etcd-layout.ts";
import type { Registration } from "./instance.ts";

/** A registration as written: what its instance key holds, and the revision that wrote it. */
export interface WrittenInstance {
  stored: StoredInstance;
  revision: number;
  /** False when it replaced an instance with the same id. */
  created: boolean;
}

/** Writes instances and renews their leases in one etcd, under one prefix's keys. */
export class EtcdInstanceWrites {
  readonly #client: Etcd3;
  readonly #keys: RegistryKeys;
  readonly #keepAlive: LeaseKeepAlive;

  /** `timeoutMs`: how long a renewal may wait for etcd's answer. */
  constructor(client: Etcd3, keys: RegistryKeys, timeoutMs: number) {
    this.#client = client;
    this.#keys = keys;
    this.#keepAlive = new LeaseKeepAlive(client, timeoutMs);
  }

  /**
   * Grants a lease of the registration's TTL and writes the instance on it (replacing one
   * with its id, whose lease is revoked). etcd counts whole seconds and grants no less than
   * its own minimum: the stored registration's `ttlMs` is what it granted.
   */
  async put(registration: Registration): Promise<WrittenInstance> {
    const { service, id } = registration;
    const grant = await this.#client.leaseClient.leaseGrant({
      TTL: Math.ceil(registration.ttlMs / 1000),
    });
    const lease = String(grant.ID);
    const ttlMs = Math.max(registration.ttlMs, Number(grant.TTL) * 1000);
    const stored = { registration: { ...registration, ttlMs }, registeredAt: Date.now(), lease };
    const written = await this.#client.kv
      .txn({
        success: [
          {
            request_put: {
              key: this.#keys.instance(service, id),
              value: encodeInstance(stored),
              prev_kv: true,
            },
          },
          { request_put: { key: this.#keys.lease(service, id), value: Buffer.from(lease), lease } },
        ],
      })
      .catch((error: Error) => {
        this.#revoke(lease);
        throw error;
      });
    const previous = written.responses[0]?.response_put.prev_kv;
    const replaced = previous && decodeInstance(previous.value, { kind: "instance", service, id });
    if (replaced && replaced.lease !== lease) this.#revoke(replaced.lease);
    return { stored, revision: Number(written.header.revision), created: !previous };
  }

  /**
   * Renews `lease`: the seconds it runs from now, 0 when etcd holds no such lease (it ran
   * out, or was revoked by a deregistration). Rejects when etcd did not answer.
   */
  renew(lease: string): Promise<number> {
    return this.#keepAlive.renew(lease);
  }

  /** Deregisters an instance: the revision that deleted it, undefined when there was none. */
  async remove(service: string, id: string): Promise<number | undefined> {
    const removed = await this.#client.kv.txn({
      success: [
        { request_delete_range: { key: this.#keys.instance(service, id), prev_kv: true } },
        { request_delete_range: { key: this.#keys.lease(service, id) } },
      ],
    });
    const previous = removed.responses[0]?.response_delete_range.prev_kvs[0];
    if (!previous) return undefined;
    const stored = decodeInstance(previous.value, { kind: "instance", service, id });
    if (stored) this.#revoke(stored.lease);
    return Number(removed.header.revision);
  }

  /** Deletes a down instance's key, if it is still the registration at `revision` and down. */
  async removeDown(service: string, id: string, revision: number): Promise<void> {
    const instance = this.#keys.instance(service, id);
    await this.#client.kv.txn({
      compare: [
        { key: instance, target: "Mod", result: "Equal", mod_revision: revision },
        { key: this.#keys.lease(service, id), target: "Version", result: "Equal", version: 0 },
      ],
      success: [{ request_delete_range: { key: instance } }],
    });
  }

  /** An instance as etcd holds it now. */
  async read(service: string, id: string): Promise<StoredInstance | undefined> {
    const key = this.#keys.instance(service, id).toString();
    const kv = (await this.#client.get(key).exec()).kvs[0];
    return kv && decodeInstance(kv.value, { kind: "instance", service, id });
  }

  /** Drops the keep-alive stream; renewals waiting on it fail. */
  close(): void {
    this.#keepAlive.close();
  }

  #revoke(lease: string): void {
    this.#client.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
  }
}
