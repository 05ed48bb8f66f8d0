/**
 * @module upstream/upstream-view
 * The upstreams as operators see them: every service's targets with health, ejection,
 * breaker state, load and latency, as served at `GET /upstreams` on the status listener
 * and in the admin API's runtime view. Metadata is shown only where asked for (the status
 * listener asks for no key), and then with its secrets redacted as in the config export.
 */
import { redactConfig } from "../config/redact-config.ts";
import type { Target } from "./target.ts";

/** What a view shows beyond the state: target metadata (redacted), or not. */
export interface ViewOptions {
  metadata: boolean;
}

export interface TargetView {
  url: string;
  weight: number;
  zone?: string;
  /** The instance's version and tags, for targets that have them (registry targets). */
  version?: string;
  tags?: readonly string[];
  /** Only with `metadata: true`. */
  metadata?: Readonly<Record<string, string>>;
  /** What a selector sees: can it be picked now? */
  available: boolean;
  health: Target["health"];
  ejected: boolean;
  /** Milliseconds until the ejection ends (0 when not ejected). */
  ejectedForMs: number;
  ejections: number;
  breaker: "closed" | "open" | "half-open" | "none";
  inFlight: number;
  /** Peak-EWMA response time in ms. */
  latencyMs: number;
}

/** One target's state now. */
export function viewTarget(target: Target, options: ViewOptions): TargetView {
  const now = target.clock.now();
  const ejectedForMs = Math.max(0, target.ejectedUntil - now);
  return {
    url: target.url,
    weight: target.weight,
    ...(target.zone === undefined ? {} : { zone: target.zone }),
    ...(target.version === undefined ? {} : { version: target.version }),
    ...(target.tags.length === 0 ? {} : { tags: target.tags }),
    ...(options.metadata && { metadata: redactConfig(target.metadata) }),
    available: target.available(),
    health: target.health,
    ejected: ejectedForMs > 0,
    ejectedForMs: Math.round(ejectedForMs),
    ejections: target.ejections,
    breaker: target.breaker?.state ?? "none",
    inFlight: target.inFlight,
    latencyMs: Math.round(target.latency.value * 100) / 100,
  };
}

/** Every service's targets. */
export function viewUpstreams(
  services: Iterable<{ name: string; targets: readonly Target[] }>,
  options: ViewOptions,
): {
  services: { name: string; available: number; targets: TargetView[] }[];
} {
  return {
    services: [...services].map((service) => {
      const targets = service.targets.map((target) => viewTarget(target, options));
      return {
        name: service.name,
        available: targets.filter((target) => target.available).length,
        targets,
      };
    }),
  };
}
