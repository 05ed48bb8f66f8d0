/**
 * @module sdk/lease-messages
 * What the registering thread and the lease worker say to each other. Plain data: it is
 * posted between threads.
 */
import type { Lease, Registration } from "../registry/instance.ts";
import type { EtcdSettings } from "./etcd-options.ts";
import type { RegistryEndpoint } from "./registry-endpoint.ts";

/** The lease the registry grants an instance: the registry's own type. */
export type { Lease } from "../registry/instance.ts";

/** The instance as registered: the body of `PUT /registry/services/{service}/instances/{id}`. */
export interface InstanceBody {
  address: string;
  port: number;
  protocol: "http" | "grpc";
  ttl?: string;
  version?: string;
  zone?: string;
  tags?: string[];
  metadata?: Record<string, string>;
  weight?: number;
  healthCheck?: { path: string; interval?: string };
}

/**
 * What the worker is told of one instance to keep registered: the registry API and the body
 * to register there, or etcd and the registration checked as the gateway's registry checks one.
 */
export type LeaseData =
  | { via: "api"; endpoint: RegistryEndpoint; service: string; id: string; instance: InstanceBody }
  | { via: "etcd"; etcd: EtcdSettings; registration: Registration };

/** Main thread → worker; `key` names the registration (one worker keeps them all). */
export type ToLeaseWorker =
  /** Register this instance and keep it registered. */
  | { type: "add"; key: number; lease: LeaseData }
  /** Deregister it, waiting up to `timeoutMs` for the registry. */
  | { type: "close"; key: number; timeoutMs: number };

/** Worker → main thread, about the registration `key`. */
export type FromLeaseWorker =
  /** The registry took the instance (the first time, or again after the lease was lost). */
  | { type: "registered"; key: number; lease: Lease }
  /** A registration or heartbeat failed; the next try is in `delayMs`. */
  | { type: "retry"; key: number; status: number; code: string; message: string; delayMs: number }
  /** The registry refused the instance before it was ever registered: the worker dropped it. */
  | {
      type: "refused";
      key: number;
      status: number;
      code: string;
      message: string;
      problems?: string[];
    }
  /** Closing is done; `deregistered` is false when the deregistration failed or timed out. */
  | { type: "closed"; key: number; deregistered: boolean };
