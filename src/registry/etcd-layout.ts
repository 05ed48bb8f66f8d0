/**
 * @module registry/etcd-layout
 * The registry's keys in etcd and what they hold. Under `<prefix>registry/`:
 *
 *   instances/{service}/{id}   the registration (JSON), its time and its lease; no lease of its own
 *   leases/{service}/{id}      attached to the instance's lease: etcd deletes it when the lease runs out
 *
 * An instance is up while both keys exist, down when only the first does (its lease ran
 * out), gone when neither does. Deregistering deletes both in one transaction; a missed
 * lease deletes the second alone, so every node watching tells the two apart from the
 * keys themselves, the same way, at the same revision. Names and ids hold no `/`.
 */
import { registryNamePattern } from "../config/schema/registry.ts";
import type { Registration } from "./instance.ts";

/** What an instance key holds. */
export interface StoredInstance {
  registration: Registration;
  /** When it registered, in wall-clock milliseconds. */
  registeredAt: number;
  /** Its etcd lease (an int64, in decimal). */
  lease: string;
}

/** Which key of which instance. */
export interface RegistryKey {
  kind: "instance" | "lease";
  service: string;
  id: string;
}

/** The registry's key names under one prefix. */
export class RegistryKeys {
  /** Everything the registry keeps: the one watch covers it. */
  readonly root: string;

  /** `prefix`: the etcd connection's, e.g. `/gatehouse/`. */
  constructor(prefix: string) {
    this.root = `${prefix}registry/`;
  }

  instance(service: string, id: string): Buffer {
    return Buffer.from(`${this.root}instances/${service}/${id}`);
  }

  lease(service: string, id: string): Buffer {
    return Buffer.from(`${this.root}leases/${service}/${id}`);
  }

  /** Which instance a key belongs to; undefined for a key Gatehouse does not write. */
  parse(key: Buffer | string): RegistryKey | undefined {
    const parts = key.toString().slice(this.root.length).split("/");
    if (parts.length !== 3) return undefined;
    const [folder, service, id] = parts as [string, string, string];
    const kind = folder === "instances" ? "instance" : folder === "leases" ? "lease" : undefined;
    if (!kind || !registryNamePattern.test(service) || !registryNamePattern.test(id))
      return undefined;
    return { kind, service, id };
  }
}

export function encodeInstance(stored: StoredInstance): Buffer {
  return Buffer.from(JSON.stringify(stored));
}

/**
 * The instance a key holds, or undefined when it holds something Gatehouse did not write
 * (by hand, or another program's): such a key is left out of the registry.
 */
export function decodeInstance(value: Buffer, key: RegistryKey): StoredInstance | undefined {
  let stored: Partial<StoredInstance>;
  try {
    stored = JSON.parse(value.toString("utf8")) as Partial<StoredInstance>;
  } catch {
    return undefined;
  }
  const registration = stored?.registration;
  const wellFormed =
    typeof stored?.lease === "string" &&
    Number.isFinite(stored.registeredAt) &&
    registration?.service === key.service &&
    registration.id === key.id &&
    typeof registration.address === "string" &&
    Number.isInteger(registration.port) &&
    (registration.protocol === "http" || registration.protocol === "grpc") &&
    Number.isFinite(registration.ttlMs) &&
    Number.isInteger(registration.weight) &&
    Array.isArray(registration.tags) &&
    typeof registration.metadata === "object" &&
    registration.metadata !== null;
  return wellFormed ? (stored as StoredInstance) : undefined;
}
