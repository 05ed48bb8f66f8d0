/**
 * @module runtime/target-sync
 * One view of every target per node, whatever the worker count: the state one thread
 * learns (a probe moved a target across, a breaker opened or closed, outlier detection
 * ejected a target) is described as a TargetStateChange, sent to the other threads, and
 * applied there without being announced again. Probes run once, in the supervisor;
 * breakers and ejections are judged in the workers, from the traffic they proxy.
 *
 * Changes name targets by service and URL (a target's identity). Times travel as
 * durations, not instants: each thread's monotonic clock has its own origin.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  type BreakerMessage,
  breakerChannel,
  type EjectionMessage,
  ejectionChannel,
} from "../observability/diagnostics.ts";
import { CircuitBreaker } from "../upstream/breaker.ts";
import type { ActiveHealth, Target } from "../upstream/target.ts";
import type { TargetRegistry } from "./target-registry.ts";

/** A change to one target's state, as one thread saw it happen. */
export type TargetStateChange =
  | { kind: "health"; service: string; url: string; health: ActiveHealth }
  | { kind: "breaker"; service: string; url: string; state: "open" | "closed"; openForMs?: number }
  | { kind: "ejection"; service: string; url: string; ejections: number; durationMs: number };

/**
 * Makes this thread's targets match `change`. Nothing here publishes on the channels
 * (CircuitBreaker.follow is silent), so a change is never sent back where it came from.
 */
export function applyTargetState(registry: TargetRegistry, change: TargetStateChange): void {
  for (const [service, target] of registry.entries()) {
    if (target.url !== change.url || service !== change.service) continue;
    if (change.kind === "health") {
      target.health = change.health;
    } else if (change.kind === "breaker") {
      if (target.breaker instanceof CircuitBreaker) target.breaker.follow(change);
    } else {
      target.ejectedUntil = target.clock.now() + change.durationMs;
      target.ejections = change.ejections;
    }
  }
}

/** Every target's state as changes, for a thread that starts or has just compiled a config. */
export function captureTargetState(registry: TargetRegistry): TargetStateChange[] {
  const changes: TargetStateChange[] = [];
  for (const [service, target] of registry.entries()) {
    const { url } = target;
    changes.push({ kind: "health", service, url, health: target.health });
    const now = target.clock.now();
    if (target.ejectedUntil > now) {
      const durationMs = target.ejectedUntil - now;
      const { ejections } = target;
      changes.push({ kind: "ejection", service, url, ejections, durationMs });
    }
    if (target.breaker instanceof CircuitBreaker) {
      const { halfOpensInMs } = target.breaker.snapshot();
      if (halfOpensInMs !== null)
        changes.push({ kind: "breaker", service, url, state: "open", openForMs: halfOpensInMs });
    }
  }
  return changes;
}

/**
 * Calls `send` with every breaker transition and ejection this thread's targets make;
 * returns the function that stops listening.
 */
export function watchTargetState(send: (change: TargetStateChange) => void): () => void {
  const onBreaker = (message: unknown) => {
    const { service, target, state, openForMs } = message as BreakerMessage;
    const change = { kind: "breaker", service, url: target, state } as const;
    send(openForMs === undefined ? change : { ...change, openForMs });
  };
  const onEjection = (message: unknown) => {
    const { service, target, ejections, durationMs } = message as EjectionMessage;
    send({ kind: "ejection", service, url: target, ejections, durationMs });
  };
  subscribe(breakerChannel.name, onBreaker);
  subscribe(ejectionChannel.name, onEjection);
  return () => {
    unsubscribe(breakerChannel.name, onBreaker);
    unsubscribe(ejectionChannel.name, onEjection);
  };
}

/** The health change a probe made, as a message for the workers. */
export function healthChange(service: string, target: Target, health: ActiveHealth) {
  return { kind: "health", service, url: target.url, health } satisfies TargetStateChange;
}
