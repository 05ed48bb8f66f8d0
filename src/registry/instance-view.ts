/**
 * @module registry/instance-view
 * The JSON an instance and its lease are shown as, from a registration and its times
 * (wall-clock milliseconds), whatever store keeps them.
 */
import { formatDuration } from "../config/units.ts";
import {
  type InstanceState,
  type InstanceView,
  instanceUrl,
  type Lease,
  type Registration,
} from "./instance.ts";

/** When an instance registered and last renewed its lease, in wall-clock milliseconds. */
export interface InstanceTimes {
  registeredAt: number;
  lastHeartbeat: number;
}

/** What a registration or a heartbeat answers: the lease, running from `times.lastHeartbeat`. */
export function leaseView(registration: Registration, times: InstanceTimes): Lease {
  const { service, id, ttlMs, address, port } = registration;
  return {
    service,
    id,
    url: instanceUrl(address, port),
    ttl: formatDuration(ttlMs),
    ttlMs,
    expiresAt: iso(times.lastHeartbeat + ttlMs),
    registeredAt: iso(times.registeredAt),
  };
}

/** An instance as the registry API shows it. */
export function instanceView(
  registration: Registration,
  state: InstanceState,
  times: InstanceTimes,
): InstanceView {
  const { id, address, port, protocol, weight, version, zone, tags, metadata, healthCheck } =
    registration;
  return {
    id,
    url: instanceUrl(address, port),
    address,
    port,
    protocol,
    weight,
    ...(version !== undefined && { version }),
    ...(zone !== undefined && { zone }),
    tags: [...tags],
    metadata: { ...metadata },
    ...(healthCheck && {
      healthCheck: {
        path: healthCheck.path,
        ...(healthCheck.intervalMs !== undefined && {
          interval: formatDuration(healthCheck.intervalMs),
        }),
      },
    }),
    state,
    registeredAt: iso(times.registeredAt),
    lastHeartbeat: iso(times.lastHeartbeat),
    expiresAt: iso(times.lastHeartbeat + registration.ttlMs),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
