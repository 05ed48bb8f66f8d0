/**
 * @module observability/plugin-metrics
 * The counters plugins write through `scope.telemetry`: rate-limit and concurrency-limit
 * decisions, rate-limit store failures, authentication failures, request/response
 * validation results, bodies the transformers left untouched, threat rule matches and cache
 * statuses, by route, and the bytes cache stores hold. Children are
 * found by the request's route name (a string the config made, so its hash is already
 * known) and a value from a fixed set: recording is two map lookups and an add.
 */
import { Gauge, type Registry } from "prom-client";
import type { RequestContext } from "../pipeline/context.ts";
import type {
  AuthFailureReason,
  BodyUntouchedReason,
  CacheStatus,
  PluginTelemetry,
  PluginTelemetrySource,
  StoreFallback,
  ThreatAction,
  ValidationMode,
  ValidationResult,
} from "../pipeline/telemetry.ts";
import type { MirrorOutcome } from "../traffic/mirror.ts";
import { type CounterChild, CounterFamily } from "./series.ts";

/** One family's children by route, then by the label value that varies per call. */
class RouteCounters<Value extends string> {
  readonly #byRoute = new Map<string, Map<Value, CounterChild>>();
  readonly #create: (route: string, value: Value) => CounterChild;
  /** Values whose series appear (at 0) as soon as the route records anything. */
  readonly #eager: readonly Value[];

  constructor(create: (route: string, value: Value) => CounterChild, eager: readonly Value[] = []) {
    this.#create = create;
    this.#eager = eager;
  }

  inc(route: string, value: Value): void {
    let children = this.#byRoute.get(route);
    if (children === undefined) {
      children = new Map(this.#eager.map((eager) => [eager, this.#create(route, eager)]));
      this.#byRoute.set(route, children);
    }
    let child = children.get(value);
    if (child === undefined) {
      child = this.#create(route, value);
      children.set(value, child);
    }
    child.value++;
  }
}

type Decision = "allowed" | "rejected";
const decisions: readonly Decision[] = ["allowed", "rejected"];

/** The counters of one plugin name, shared by every instance of it (one child per label set). */
class PluginCounters implements PluginTelemetry {
  readonly #decisions: RouteCounters<Decision>;
  readonly #authFailures: RouteCounters<AuthFailureReason>;
  readonly #storeFailures: RouteCounters<StoreFallback>;
  readonly #requestValidations: RouteCounters<`${ValidationMode}/${ValidationResult}`>;
  readonly #responseValidations: RouteCounters<"valid" | "invalid">;
  readonly #untouched: RouteCounters<BodyUntouchedReason>;
  readonly #threatMatches: RouteCounters<`${string}/${ThreatAction}`>;
  readonly #cacheStatuses: RouteCounters<CacheStatus>;
  readonly #storedBytes: Set<() => number>;

  constructor(
    plugin: string,
    families: Families,
    storeFailures: RouteCounters<StoreFallback>,
    storedBytes: Set<() => number>,
  ) {
    this.#cacheStatuses = new RouteCounters((route, status) =>
      families.cacheStatuses.child(route, status),
    );
    this.#storedBytes = storedBytes;
    // Mode and result vary per call: one child per pair, found by the pair's own string.
    this.#requestValidations = new RouteCounters((route, pair) => {
      const [mode, result] = pair.split("/") as [string, string];
      return families.requestValidations.child(route, plugin, mode, result);
    });
    this.#responseValidations = new RouteCounters((route, result) =>
      families.responseValidations.child(route, plugin, result),
    );
    this.#decisions = new RouteCounters(
      (route, decision) => families.decisions.child(route, plugin, decision),
      decisions,
    );
    this.#authFailures = new RouteCounters((route, reason) =>
      families.authFailures.child(route, plugin, reason),
    );
    this.#storeFailures = storeFailures;
    this.#untouched = new RouteCounters((route, reason) =>
      families.bodiesUntouched.child(route, plugin, reason),
    );
    // Rule and action vary per call too; a rule id has no "/", so the last one splits.
    this.#threatMatches = new RouteCounters((route, pair) => {
      const slash = pair.lastIndexOf("/");
      return families.threatMatches.child(
        route,
        plugin,
        pair.slice(0, slash),
        pair.slice(slash + 1),
      );
    });
  }

  limitDecision(ctx: RequestContext, allowed: boolean): void {
    this.#decisions.inc(ctx.route, allowed ? "allowed" : "rejected");
  }

  storeFailure(ctx: RequestContext, fallback: StoreFallback): void {
    this.#storeFailures.inc(ctx.route, fallback);
  }

  authFailure(ctx: RequestContext, reason: AuthFailureReason): void {
    this.#authFailures.inc(ctx.route, reason);
  }

  cacheStatus(ctx: RequestContext, status: CacheStatus): void {
    this.#cacheStatuses.inc(ctx.route, status);
  }

  cacheStoredBytes(read: () => number): () => void {
    this.#storedBytes.add(read);
    return () => this.#storedBytes.delete(read);
  }

  requestValidation(ctx: RequestContext, mode: ValidationMode, result: ValidationResult): void {
    this.#requestValidations.inc(ctx.route, `${mode}/${result}`);
  }

  responseValidation(ctx: RequestContext, result: "valid" | "invalid"): void {
    this.#responseValidations.inc(ctx.route, result);
  }

  bodyUntouched(ctx: RequestContext, reason: BodyUntouchedReason): void {
    this.#untouched.inc(ctx.route, reason);
  }

  threatMatch(ctx: RequestContext, rule: string, action: ThreatAction): void {
    this.#threatMatches.inc(ctx.route, `${rule}/${action}`);
  }
}

interface Families {
  decisions: CounterFamily;
  storeFailures: CounterFamily;
  authFailures: CounterFamily;
  cacheStatuses: CounterFamily;
  requestValidations: CounterFamily;
  responseValidations: CounterFamily;
  bodiesUntouched: CounterFamily;
  threatMatches: CounterFamily;
  mirrored: CounterFamily;
}

/** Every plugin counter of one gateway; lives as long as the gateway, across reloads. */
export class PluginMetrics implements PluginTelemetrySource {
  readonly #families: Families;
  readonly #storeFailures: RouteCounters<StoreFallback>;
  readonly #byPlugin = new Map<string, PluginCounters>();
  /** The cache stores' byte counts, summed into one gauge at each scrape. */
  readonly #storedBytes = new Set<() => number>();
  readonly #mirrored: RouteCounters<MirrorOutcome>;

  constructor(registry: Registry) {
    this.#families = {
      decisions: new CounterFamily(
        "gatehouse_rate_limit_decisions_total",
        "Requests a rate-limit or concurrency-limit plugin decided, by route, plugin and decision (allowed or rejected).",
        ["route", "plugin", "decision"],
      ),
      storeFailures: new CounterFamily(
        "gatehouse_rate_limit_store_failures_total",
        "Rate-limit decisions the shared store failed to give in time, by route, store and the fallback applied (open, closed or local).",
        ["route", "store", "fallback"],
      ),
      authFailures: new CounterFamily(
        "gatehouse_auth_failures_total",
        "Requests refused by an authentication or authorization plugin, by route, plugin and reason.",
        ["route", "plugin", "reason"],
      ),
      cacheStatuses: new CounterFamily(
        "gatehouse_cache_requests_total",
        "Requests the cache plugin saw, by route and cache status (HIT, MISS, STALE, BYPASS or REVALIDATED).",
        ["route", "status"],
      ),
      requestValidations: new CounterFamily(
        "gatehouse_request_validations_total",
        "Requests a validation plugin checked, by route, plugin, mode (enforce or report) and result (valid, invalid, or unknown: no operation for it).",
        ["route", "plugin", "mode", "result"],
      ),
      responseValidations: new CounterFamily(
        "gatehouse_response_validations_total",
        "Upstream responses a validation plugin checked, by route, plugin and result (valid or invalid).",
        ["route", "plugin", "result"],
      ),
      bodiesUntouched: new CounterFamily(
        "gatehouse_body_transform_skipped_total",
        "Bodies a transformer plugin was configured to edit but passed on untouched, by route, plugin and reason (encoded: compressed; unparsable: not the JSON its type says).",
        ["route", "plugin", "reason"],
      ),
      threatMatches: new CounterFamily(
        "gatehouse_threat_matches_total",
        "Threat rules that matched a request (attack patterns, JSON limits, attack tools), by route, plugin, rule and action (blocked or reported).",
        ["route", "plugin", "rule", "action"],
      ),
      mirrored: new CounterFamily(
        "gatehouse_mirror_requests_total",
        "Copies of requests a route's mirror sent (answered or failed, their answers discarded) or did not send (dropped: too many under way; skipped: a body too large to copy), by route and outcome.",
        ["route", "outcome"],
      ),
    };
    this.#mirrored = new RouteCounters((route, outcome) =>
      this.#families.mirrored.child(route, outcome),
    );
    // Only Redis is shared (and so can fail) today; the label leaves room for more.
    this.#storeFailures = new RouteCounters((route, fallback) =>
      this.#families.storeFailures.child(route, "redis", fallback),
    );
    // prom-client's registry renders any object with a name, help, type and get().
    for (const family of Object.values(this.#families)) registry.registerMetric(family as never);
    const storedBytes = this.#storedBytes;
    new Gauge({
      name: "gatehouse_cache_stored_bytes",
      help: "Bytes the cache plugin's memory stores hold on this gateway (bodies and headers).",
      registers: [registry],
      collect() {
        let total = 0;
        for (const read of storedBytes) total += read();
        this.set(total);
      },
    });
  }

  mirrored(route: string, outcome: MirrorOutcome): void {
    this.#mirrored.inc(route, outcome);
  }

  /** The telemetry a plugin called `name` writes to (the same object for every instance). */
  forPlugin(name: string): PluginTelemetry {
    let counters = this.#byPlugin.get(name);
    if (counters === undefined) {
      counters = new PluginCounters(name, this.#families, this.#storeFailures, this.#storedBytes);
      this.#byPlugin.set(name, counters);
    }
    return counters;
  }
}
