/**
 * @module upstream/breaker
 * The per-target circuit breaker: a pure state machine fed with outcomes (from proxied
 * tries and active health checks alike) that tells selectors whether the target may take
 * a request now.
 *
 *   closed ──(≥ minRequests in window, failure or slow-call ratio reached)──▶ open
 *   open ──(openDuration elapsed: computed on read, nothing to apply)──▶ half-open
 *   half-open ──(halfOpenRequests probes succeeded)──▶ closed   (backoff reset, window cleared)
 *   half-open ──(a probe failed or was slow)──▶ open            (for twice as long, capped)
 */
import type { z } from "zod";
import type { circuitBreakerSchema } from "../config/schema/upstream.ts";
import { type BreakerMessage, breakerChannel } from "../observability/diagnostics.ts";
import type { Clock } from "./clock.ts";
import { isFailure, type Outcome } from "./outcome.ts";
import { OutcomeWindow } from "./outcome-window.ts";
import type { Target, TargetBreaker } from "./target.ts";

export type CircuitBreakerConfig = z.output<typeof circuitBreakerSchema>;
export type BreakerState = TargetBreaker["state"];

/** The target a breaker guards: named in diagnostics events, told of each transition. */
export type BreakerOwner = Pick<Target, "url" | "service" | "transitioned">;

/** What the status listener shows of a breaker. */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Outcomes counted in the current window (while open: the window that tripped it). */
  requests: number;
  failures: number;
  slowCalls: number;
  /** Clock time (ms) at which an open breaker half-opens; null unless open. */
  openUntil: number | null;
  /** Milliseconds until an open breaker half-opens; null unless open. */
  halfOpensInMs: number | null;
}

/** A circuit breaker for one target. */
export class CircuitBreaker implements TargetBreaker {
  readonly #config: CircuitBreakerConfig;
  readonly #clock: Clock;
  readonly #window: OutcomeWindow;
  /** Open or half-open (which of the two is decided by the clock against #openUntil). */
  #tripped = false;
  #openUntil = 0;
  /** How long the next opening lasts: openDuration, doubled on each consecutive reopening. */
  #nextOpenFor: number;
  /** Half-open probe slots taken by dispatches, and probes that came back fine. */
  #probesSent = 0;
  #probesPassed = 0;
  #lastProbeAt = 0;

  readonly #owner: BreakerOwner | undefined;

  /** `owner` (the target) is told of each transition and named in diagnostics events. */
  constructor(config: CircuitBreakerConfig, clock: Clock, owner?: BreakerOwner) {
    this.#config = config;
    this.#clock = clock;
    this.#owner = owner;
    this.#window = new OutcomeWindow(config.window);
    this.#nextOpenFor = Math.min(config.openDuration, config.maxOpenDuration);
  }

  get state(): BreakerState {
    if (!this.#tripped) return "closed";
    return this.#clock.now() < this.#openUntil ? "open" : "half-open";
  }

  /** Closed: yes. Open: no. Half-open: while a probe slot is free. Only reads the clock. */
  permits(): boolean {
    if (!this.#tripped) return true;
    const now = this.#clock.now();
    if (now < this.#openUntil) return false;
    return this.#probesSent < this.#config.halfOpenRequests || this.#probesLost(now);
  }

  /** Half-open: the request takes a probe slot. Otherwise nothing to do. */
  onDispatch(): void {
    if (!this.#tripped) return;
    const now = this.#clock.now();
    // Sent while open (a service in panic ignores breakers): not a probe.
    if (now < this.#openUntil) return;
    if (this.#probesLost(now)) this.#probesSent = this.#probesPassed;
    this.#probesSent++;
    this.#lastProbeAt = now;
  }

  record(outcome: Outcome): void {
    const now = this.#clock.now();
    const failed = isFailure(outcome);
    const slow =
      this.#config.slowCallDuration > 0 && outcome.durationMs > this.#config.slowCallDuration;
    if (!this.#tripped) {
      this.#window.add(now, failed, slow);
      if (this.#shouldOpen(now)) this.#open(now);
      return;
    }
    // Open: a late outcome of a try sent before the breaker opened tells nothing new.
    if (now < this.#openUntil) return;
    // Half-open: a probe must succeed, and in time when slow calls are counted.
    if (failed || slow) {
      this.#open(now);
    } else if (++this.#probesPassed >= this.#config.halfOpenRequests) {
      this.#close();
    }
  }

  /**
   * Takes the transition another worker thread's breaker for the same target made (see
   * runtime/target-sync.ts), without telling the owner or publishing it again: the node
   * has one view of the target. Open lasts what it lasts there; closed starts a fresh window.
   */
  follow(message: Pick<BreakerMessage, "state" | "openForMs">): void {
    if (message.state === "closed") {
      if (!this.#tripped) return;
      this.#tripped = false;
      this.#nextOpenFor = Math.min(this.#config.openDuration, this.#config.maxOpenDuration);
      this.#window.clear();
      return;
    }
    const openFor = message.openForMs ?? this.#nextOpenFor;
    this.#tripped = true;
    this.#openUntil = this.#clock.now() + openFor;
    this.#nextOpenFor = Math.min(openFor * 2, this.#config.maxOpenDuration);
    this.#probesSent = 0;
    this.#probesPassed = 0;
  }

  /** State and window counts for status JSON. */
  snapshot(): BreakerSnapshot {
    const now = this.#clock.now();
    const counts = this.#window.tally(now);
    const open = this.#tripped && now < this.#openUntil;
    return {
      state: this.state,
      requests: counts.total,
      failures: counts.failures,
      slowCalls: counts.slow,
      openUntil: open ? this.#openUntil : null,
      halfOpensInMs: open ? this.#openUntil - now : null,
    };
  }

  #shouldOpen(now: number): boolean {
    const { total, failures, slow } = this.#window.tally(now);
    if (total < this.#config.minRequests) return false;
    if (failures / total >= this.#config.failureRatio) return true;
    return this.#config.slowCallDuration > 0 && slow / total >= this.#config.slowCallRatio;
  }

  #open(now: number): void {
    this.#tripped = true;
    this.#openUntil = now + this.#nextOpenFor;
    const openForMs = this.#nextOpenFor;
    if (breakerChannel.hasSubscribers) {
      breakerChannel.publish({
        service: this.#owner?.service ?? "",
        target: this.#owner?.url ?? "",
        state: "open",
        openForMs,
      } satisfies BreakerMessage);
    }
    this.#nextOpenFor = Math.min(this.#nextOpenFor * 2, this.#config.maxOpenDuration);
    this.#probesSent = 0;
    this.#probesPassed = 0;
    this.#owner?.transitioned({ kind: "breaker", state: "open", openForMs });
  }

  #close(): void {
    this.#tripped = false;
    if (breakerChannel.hasSubscribers) {
      breakerChannel.publish({
        service: this.#owner?.service ?? "",
        target: this.#owner?.url ?? "",
        state: "closed",
      } satisfies BreakerMessage);
    }
    this.#nextOpenFor = Math.min(this.#config.openDuration, this.#config.maxOpenDuration);
    this.#window.clear();
    this.#owner?.transitioned({ kind: "breaker", state: "closed" });
  }

  /**
   * Whether every slot is taken by probes that have not reported for `openDuration`. A
   * try whose client hung up reports no outcome; without this its slot would be held
   * forever and the breaker would never leave half-open.
   */
  #probesLost(now: number): boolean {
    return (
      this.#probesSent >= this.#config.halfOpenRequests &&
      now - this.#lastProbeAt >= this.#config.openDuration
    );
  }
}
