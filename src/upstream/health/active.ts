/**
 * @module upstream/health/active
 * Active health checks: every watched target is probed on its own timer (an HTTP or
 * HTTPS request, a TCP connect, or a gRPC health call), and rise/fall thresholds turn
 * probe results into `target.health`, so one blip does not flap a target in or out.
 */
import { request as httpRequest, type RequestOptions, validateHeaderValue } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, isIP } from "node:net";
import type { z } from "zod";
import type { healthCheckSchema } from "../../config/schema/upstream.ts";
import { type HealthChangeMessage, healthChannel } from "../../observability/diagnostics.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { OutcomeKind } from "../outcome.ts";
import type { ActiveHealth, Target } from "../target.ts";
import { probeGrpc } from "./grpc-probe.ts";
import { probeStatus, statusProbeHeaders } from "./status-probe.ts";

/** `healthCheck.active` as parsed: durations in milliseconds, defaults filled in. */
export type ActiveCheckConfig = NonNullable<z.output<typeof healthCheckSchema>["active"]>;

/** What one probe came to. */
export interface ProbeResult {
  ok: boolean;
  /** As the target's breaker records it; a failed HTTP check is a `server-error`. */
  kind: OutcomeKind;
  durationMs: number;
  /** What was seen, for logs: `status 200`, `body did not match`, `ECONNREFUSED`, `timeout after 2000ms`. */
  detail: string;
}

export interface ActiveHealthCheckerOptions {
  /** Source of jitter, in [0, 1); default Math.random. */
  random?: () => number;
  /** A target's health changed. Must not throw. */
  onChange?: (target: Target, from: ActiveHealth, to: ActiveHealth) => void;
  /** A probe finished and was counted (not called for abandoned probes). Must not throw. */
  onProbe?: (target: Target, result: ProbeResult) => void;
  /**
   * TLS settings for `https` probes and `grpc` probes of `https://` targets; certificates
   * are verified unless told otherwise.
   */
  tls?: { ca?: string | Buffer | (string | Buffer)[]; rejectUnauthorized?: boolean };
  /**
   * Probe starts are rounded up to a multiple of this many ms on the clock; default a
   * twentieth of `interval`, at most 250 ms (see probeTick). 0 starts each one on time.
   */
  tickMs?: number;
}

/** The default probe tick: late by at most 5% of the interval, and never by more than 250 ms. */
export function probeTick(intervalMs: number): number {
  return Math.min(250, intervalMs / 20);
}

/** A body check reads at most this much: a health endpoint that says more is not read further. */
export const maxProbeBodyBytes = 64 * 1024;

/** Per-target state: consecutive results and the probe timer or probe in flight. */
interface Watch {
  successes: number;
  failures: number;
  cancelTimer: (() => void) | undefined;
  probe: AbortController | undefined;
}

/** A probe's result before its duration is added. */
export type Verdict = Omit<ProbeResult, "durationMs">;

const timedOut = Symbol("timeout");

/**
 * Probes watched targets and sets their `health`. One instance per service check config;
 * `watch`/`unwatch` follow the service's target set, and a target that is unwatched is
 * never probed again, even by a probe already in flight (its result is dropped).
 */
export class ActiveHealthChecker {
  readonly #config: ActiveCheckConfig;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onChange: ActiveHealthCheckerOptions["onChange"];
  readonly #onProbe: ActiveHealthCheckerOptions["onProbe"];
  readonly #tls: ActiveHealthCheckerOptions["tls"];
  readonly #bodyPattern: RegExp | undefined;
  readonly #expected: ReadonlySet<number>;
  readonly #headers: Record<string, string>;
  /** The request's headers after Host, for the lean status probe; undefined: node:http. */
  readonly #statusHead: string | undefined;
  readonly #watches = new Map<Target, Watch>();
  readonly #tick: number;

  constructor(
    config: ActiveCheckConfig,
    clock: Clock = systemClock,
    options: ActiveHealthCheckerOptions = {},
  ) {
    this.#config = config;
    this.#clock = clock;
    this.#random = options.random ?? Math.random;
    this.#onChange = options.onChange;
    this.#onProbe = options.onProbe;
    this.#tls = options.tls;
    this.#tick = options.tickMs ?? probeTick(config.interval);
    // Throws here, at load, on a bad pattern rather than on every probe.
    this.#bodyPattern = config.body === undefined ? undefined : new RegExp(config.body);
    this.#expected = new Set(config.expectedStatuses);
    this.#headers = { "user-agent": "gatehouse-health-check" };
    for (const [name, value] of Object.entries(config.headers)) {
      this.#headers[name.toLowerCase()] = value;
    }
    const { host: _host, ...headers } = this.#headers;
    this.#statusHead =
      config.type === "http" && this.#bodyPattern === undefined && validHost(config.host)
        ? statusProbeHeaders(config.method, config.path, headers)
        : undefined;
  }

  /**
   * Starts probing `target`: the first probe after a random share of `jitter` (at once
   * without jitter), then every `interval` plus jitter after the previous one ended.
   * Watching a watched target does nothing.
   */
  watch(target: Target): void {
    if (this.#watches.has(target)) return;
    const watch: Watch = { successes: 0, failures: 0, cancelTimer: undefined, probe: undefined };
    this.#watches.set(target, watch);
    this.#schedule(target, watch, this.#random() * this.#config.jitter);
  }

  /** Stops probing `target` at once; a probe in flight is aborted and its result ignored. */
  unwatch(target: Target): void {
    const watch = this.#watches.get(target);
    if (!watch) return;
    this.#watches.delete(target);
    watch.cancelTimer?.();
    watch.probe?.abort();
  }

  /** Watches exactly `targets`: new ones start, missing ones stop. */
  sync(targets: Iterable<Target>): void {
    const keep = new Set(targets);
    for (const target of this.#watches.keys()) if (!keep.has(target)) this.unwatch(target);
    for (const target of keep) this.watch(target);
  }

  /** How many targets are being probed. */
  get watching(): number {
    return this.#watches.size;
  }

  /** Whether `target` is being probed. */
  watches(target: Target): boolean {
    return this.#watches.has(target);
  }

  /** Stops every probe. */
  close(): void {
    for (const target of [...this.#watches.keys()]) this.unwatch(target);
  }

  #schedule(target: Target, watch: Watch, delay: number): void {
    watch.cancelTimer = this.#clock.schedule(() => {
      watch.cancelTimer = undefined;
      void this.#run(target, watch);
    }, this.#onTick(delay));
  }

  /**
   * `delay`, lengthened to end on a tick. Probes due within one tick then start together,
   * in one timer callback: a thousand targets probed every 5 s wake the process about 4
   * times a second instead of about 200, and those wake-ups cost more than the probes.
   */
  #onTick(delay: number): number {
    if (this.#tick <= 0) return delay;
    const now = this.#clock.now();
    return Math.ceil(Math.ceil((now + delay) / this.#tick) * this.#tick - now - 1e-6);
  }

  async #run(target: Target, watch: Watch): Promise<void> {
    const controller = new AbortController();
    watch.probe = controller;
    const started = this.#clock.now();
    const cancelTimeout = this.#clock.schedule(
      () => controller.abort(timedOut),
      this.#config.timeout,
    );
    let verdict: Verdict;
    try {
      const { type } = this.#config;
      verdict =
        type === "tcp"
          ? await probeTcp(target, controller.signal)
          : type === "grpc"
            ? await this.#probeGrpc(target, controller.signal)
            : await this.#probeHttp(target, controller.signal);
    } catch (error) {
      verdict = { ok: false, kind: "reset", detail: (error as Error).message };
    } finally {
      cancelTimeout();
    }
    // Unwatched (or unwatched and watched again) while in flight: not ours to count.
    if (this.#watches.get(target) !== watch) return;
    watch.probe = undefined;
    if (controller.signal.reason === timedOut) {
      verdict = { ok: false, kind: "timeout", detail: `timeout after ${this.#config.timeout}ms` };
    }
    const result: ProbeResult = { ...verdict, durationMs: this.#clock.now() - started };
    this.#schedule(target, watch, this.#config.interval + this.#random() * this.#config.jitter);
    this.#count(target, watch, result);
    this.#onProbe?.(target, result);
  }

  /** Rise and fall: only enough results in a row move a target across. */
  #count(target: Target, watch: Watch, result: ProbeResult): void {
    target.breaker?.record({ kind: result.kind, durationMs: result.durationMs });
    const { healthyThreshold, unhealthyThreshold } = this.#config;
    if (result.ok) {
      watch.failures = 0;
      watch.successes = Math.min(watch.successes + 1, healthyThreshold);
      if (target.health !== "healthy" && watch.successes >= healthyThreshold) {
        this.#transition(target, "healthy");
      }
    } else {
      watch.successes = 0;
      watch.failures = Math.min(watch.failures + 1, unhealthyThreshold);
      // `unknown` falls too, so a target that never came up reads as unhealthy.
      if (target.health !== "unhealthy" && watch.failures >= unhealthyThreshold) {
        this.#transition(target, "unhealthy");
      }
    }
  }

  #transition(target: Target, to: ActiveHealth): void {
    const from = target.health;
    target.health = to;
    if (healthChannel.hasSubscribers) {
      healthChannel.publish({ target: target.url, from, to } satisfies HealthChangeMessage);
    }
    target.transitioned({ kind: "health", health: to });
    this.#onChange?.(target, from, to);
  }

  #probeGrpc(target: Target, signal: AbortSignal): Promise<Verdict> {
    const { host: hostHeader, ...headers } = this.#headers;
    const authority = this.#config.host ?? hostHeader;
    return probeGrpc(
      target,
      {
        service: this.#config.service ?? "",
        authority,
        servername: hostOf(authority ?? target.authority),
        headers,
        tls: this.#tls,
      },
      signal,
    );
  }

  #probeHttp(target: Target, signal: AbortSignal): Promise<Verdict> {
    const config = this.#config;
    const secure = config.type === "https";
    const host = config.host ?? this.#headers.host ?? target.authority;
    if (this.#statusHead !== undefined && (host === target.authority || validHost(host))) {
      const head = `${config.method} ${config.path} HTTP/1.1\r\nhost: ${host}\r\n${this.#statusHead}`;
      return probeStatus(target, unbracket(target.hostname), head, this.#expected, signal);
    }
    const servername = hostOf(host);
    const options: RequestOptions & { servername?: string } = {
      host: unbracket(target.hostname),
      port: target.port,
      method: config.method,
      path: config.path,
      headers: { ...this.#headers, host },
      // A fresh connection per probe: it tests what a new proxied connection would meet
      // (accept queue, TLS handshake), and no idle socket races the target's keep-alive
      // timeout between probes into a spurious reset.
      agent: false,
      signal,
    };
    if (secure) {
      if (isIP(servername) === 0) options.servername = servername;
      Object.assign(options, this.#tls);
    }
    const pattern = this.#bodyPattern;
    const expected = this.#expected;
    return new Promise((resolve) => {
      let connected = false;
      let settled = false;
      const req = (secure ? httpsRequest : httpRequest)(options);
      const settle = (verdict: Verdict) => {
        if (settled) return;
        settled = true;
        resolve(verdict);
        req.destroy();
      };
      req.on("socket", (socket) => {
        socket.once(secure ? "secureConnect" : "connect", () => {
          connected = true;
        });
      });
      req.on("error", (error: NodeJS.ErrnoException) => {
        settle({
          ok: false,
          kind: connected ? "reset" : "connect-failure",
          detail: error.code ?? error.message,
        });
      });
      req.on("response", (res) => {
        res.on("error", () => {});
        const status = res.statusCode ?? 0;
        if (!expected.has(status)) {
          settle({ ok: false, kind: "server-error", detail: `status ${status}` });
          return;
        }
        if (!pattern) {
          settle({ ok: true, kind: "success", detail: `status ${status}` });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const check = () => {
          const text = Buffer.concat(chunks).subarray(0, maxProbeBodyBytes).toString("utf8");
          settle(
            pattern.test(text)
              ? { ok: true, kind: "success", detail: `status ${status}` }
              : { ok: false, kind: "server-error", detail: `status ${status}, body did not match` },
          );
        };
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= maxProbeBodyBytes) check();
        });
        res.on("end", check);
      });
      req.end();
    });
  }
}

function probeTcp(target: Target, signal: AbortSignal): Promise<Verdict> {
  return new Promise((resolve) => {
    const socket = connect({ host: unbracket(target.hostname), port: target.port });
    const settle = (verdict: Verdict) => {
      signal.removeEventListener("abort", abort);
      socket.destroy();
      resolve(verdict);
    };
    const abort = () => settle({ ok: false, kind: "connect-failure", detail: "aborted" });
    signal.addEventListener("abort", abort, { once: true });
    socket.once("connect", () => settle({ ok: true, kind: "success", detail: "connected" }));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      settle({ ok: false, kind: "connect-failure", detail: error.code ?? error.message }),
    );
  });
}

/** Whether `host` can be sent as a Host header as it is (undefined: the target's own). */
function validHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  try {
    validateHeaderValue("host", host);
    return true;
  } catch {
    return false;
  }
}

/** `[::1]` → `::1`: URL keeps IPv6 brackets, sockets want the bare address. */
function unbracket(hostname: string): string {
  return hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
}

/** The host part of a Host header value (`api.internal:8443` → `api.internal`). */
function hostOf(authority: string): string {
  if (authority.startsWith("[")) return authority.slice(1, authority.indexOf("]"));
  const colon = authority.lastIndexOf(":");
  return colon === -1 ? authority : authority.slice(0, colon);
}
