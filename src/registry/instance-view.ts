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
    expiresAt: isoTime(times.lastHeartbeat + ttlMs),
    registeredAt: isoTime(times.registeredAt),
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
    registeredAt: isoTime(times.registeredAt),
    lastHeartbeat: isoTime(times.lastHeartbeat),
    expiresAt: isoTime(times.lastHeartbeat + registration.ttlMs),
  };
}

/**
 * Wall-clock milliseconds as ISO-8601 text (`new Date(ms).toISOString()`). Leases are
 * shown by the hundred each second, mostly within the same second: the text up to the
 * second is kept from the previous call, and only the milliseconds are written.
 */
export function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    // "2026-01-31T12:34:56." (the text before the milliseconds, whatever the year's width)
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  const milli = whole - second * 1000;
  return `${isoPrefix}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
}

let isoSecond = Number.NaN;
let isoPrefix = "";
