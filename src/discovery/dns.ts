/**
 * @module discovery/dns
 * Targets from DNS. A/AAAA: one target per address, on the configured port, re-resolved
 * when the shortest TTL runs out or at `interval`, whichever comes first. SRV: the
 * lowest-priority group's targets with their own ports and weights, re-resolved at
 * `interval`. A set is emitted only when it differs from the last one; when resolution
 * fails the last good set stands and the name is tried again at `interval`.
 */
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { z } from "zod";
import type { dnsDiscoverySchema } from "../config/schema/upstream.ts";
import { type Clock, systemClock } from "../upstream/clock.ts";
import {
  type DiscoveredTarget,
  type DiscoverySource,
  normalizeTargets,
  sameTargets,
} from "./source.ts";

/** `discovery.dns` as parsed: `interval` in milliseconds. */
export type DnsDiscoveryConfig = z.output<typeof dnsDiscoverySchema>;

export interface DnsSourceOptions {
  /** Name servers as `host:port` (default: the system's, from /etc/resolv.conf). */
  servers?: string[];
  clock?: Clock;
  /** Per-query timeout in ms and attempts per server, as node:dns takes them. */
  timeout?: number;
  tries?: number;
  /** Shortest time between two resolutions, whatever the TTL says (default 1s). */
  minInterval?: number;
  /** After each resolution, for logs and tests. Must not throw. */
  onResolve?: (event: DnsResolveEvent) => void;
}

/** What one resolution came to. */
export interface DnsResolveEvent {
  /** The set found, or undefined when resolution failed. */
  targets: DiscoveredTarget[] | undefined;
  error: Error | undefined;
  /** Whether the set differed from the last good one (and so was emitted). */
  changed: boolean;
  /** Milliseconds until the next resolution. */
  nextIn: number;
}

interface Resolution {
  targets: DiscoveredTarget[];
  /** Seconds the answer may be cached; undefined when the record type does not tell. */
  ttl: number | undefined;
}

/** A service's targets from a DNS name. */
export class DnsSource implements DiscoverySource {
  readonly #config: DnsDiscoveryConfig;
  readonly #resolver: Resolver;
  readonly #clock: Clock;
  readonly #minInterval: number;
  readonly #onResolve: DnsSourceOptions["onResolve"];
  #onTargets: ((targets: DiscoveredTarget[]) => void) | undefined;
  #last: DiscoveredTarget[] | undefined;
  #cancelTimer: (() => void) | undefined;
  /** Bumped by start and stop, so a resolution that outlived its run is dropped. */
  #run = 0;

  constructor(config: DnsDiscoveryConfig, options: DnsSourceOptions = {}) {
    if (config.type !== "SRV" && config.port === undefined) {
      throw new Error(`discovery.dns: ${config.type} records need a port`);
    }
    this.#config = config;
    this.#resolver = new Resolver({
      ...(options.timeout !== undefined && { timeout: options.timeout }),
      ...(options.tries !== undefined && { tries: options.tries }),
    });
    if (options.servers) this.#resolver.setServers(options.servers);
    this.#clock = options.clock ?? systemClock;
    this.#minInterval = options.minInterval ?? 1_000;
    this.#onResolve = options.onResolve;
  }

  /** Resolves now, then on TTL or interval; `onTargets` hears each new set. */
  start(onTargets: (targets: DiscoveredTarget[]) => void): void {
    this.stop();
    this.#onTargets = onTargets;
    void this.#resolve(this.#run);
  }

  /** Cancels the timer and any query in flight; nothing is emitted after this. */
  stop(): void {
    this.#run++;
    this.#onTargets = undefined;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#resolver.cancel();
  }

  async #resolve(run: number): Promise<void> {
    let found: Resolution | undefined;
    let error: Error | undefined;
    try {
      found =
        this.#config.type === "SRV" ? await this.#resolveSrv() : await this.#resolveAddresses();
    } catch (caught) {
      error = caught as Error;
    }
    if (run !== this.#run) return;
    const { interval } = this.#config;
    const nextIn =
      found?.ttl === undefined
        ? interval
        : Math.max(this.#minInterval, Math.min(interval, found.ttl * 1_000));
    const changed = found !== undefined && !sameTargets(found.targets, this.#last);
    if (changed) this.#last = found!.targets;
    this.#cancelTimer = this.#clock.schedule(() => {
      this.#cancelTimer = undefined;
      void this.#resolve(run);
    }, nextIn);
    if (changed) this.#onTargets?.(found!.targets.map((target) => ({ ...target })));
    this.#onResolve?.({ targets: found?.targets, error, changed, nextIn });
  }

  async #resolveAddresses(): Promise<Resolution> {
    const { name, type, scheme, port } = this.#config;
    const records =
      type === "AAAA"
        ? await this.#resolver.resolve6(name, { ttl: true })
        : await this.#resolver.resolve4(name, { ttl: true });
    if (records.length === 0) throw new Error(`no ${type} records for ${name}`);
    return {
      targets: normalizeTargets(
        records.map(({ address }) => ({
          url: `${scheme}://${hostPart(address)}:${port}`,
          weight: 1,
        })),
      ),
      ttl: Math.min(...records.map((record) => record.ttl)),
    };
  }

  async #resolveSrv(): Promise<Resolution> {
    const { name, scheme } = this.#config;
    // A target of "." says the service is decidedly not available at that record.
    const records = (await this.#resolver.resolveSrv(name)).filter(
      (record) => record.name !== "" && record.name !== ".",
    );
    if (records.length === 0) throw new Error(`no SRV records for ${name}`);
    const priority = Math.min(...records.map((record) => record.priority));
    return {
      targets: normalizeTargets(
        records
          .filter((record) => record.priority === priority)
          .map((record) => ({
            url: `${scheme}://${hostPart(record.name.replace(/\.$/, ""))}:${record.port}`,
            // Weight 0 is "rarely"; every target here gets at least a share of 1.
            weight: Math.max(1, record.weight),
          })),
      ),
      // node:dns does not report SRV TTLs: `interval` alone decides.
      ttl: undefined,
    };
  }
}

/** An address as the host part of a URL: IPv6 in brackets. */
function hostPart(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
