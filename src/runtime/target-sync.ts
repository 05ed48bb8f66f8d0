/**
 * @module runtime/target-sync
 * One view of every target per node, whatever the worker count: the state one thread
 * learns (a probe moved a target across, a breaker opened or closed, outlier detection
 * ejected a target) reaches its target registry as a transition, is sent to the other
 * threads as a TargetStateChange, and is applied there without being told again. Probes
 * run once, in the supervisor; breakers and ejections are judged in the workers, from the
 * traffic they proxy.
 *
 * Changes name targets by identity (Target.identity), which the same config gives the
 * same in every thread. Times travel as durations, not instants: each thread's monotonic
 * clock has its own origin.
 */
import { CircuitBreaker } from "../upstream/breaker.ts";
import type { Target, TargetTransition } from "../upstream/target.ts";
import type { TargetRegistry } from "./target-registry.ts";

/** A change to one target's state, as one thread saw it happen. */
export interface TargetStateChange {
  /** The target's identity. */
  target: string;
  transition: TargetTransition;
}

/**
 * Makes this thread's target match `change`. Nothing here tells the registry (the
 * breaker's `follow` is silent too), so a change is never sent back where it came from.
 */
export function applyTargetState(registry: TargetRegistry, change: TargetStateChange): void {
  const target = registry.get(change.target);
  if (target) follow(target, change.transition);
}

function follow(target: Target, transition: TargetTransition): void {
  if (transition.kind === "health") {
    target.health = transition.health;
  } else if (transition.kind === "breaker") {
    if (target.breaker instanceof CircuitBreaker) target.breaker.follow(transition);
  } else {
    target.ejectedUntil = target.clock.now() + transition.durationMs;
    target.ejections = transition.ejections;
  }
}

/** Every target's state as changes, for a thread that starts or has just compiled a config. */
export function captureTargetState(registry: TargetRegistry): TargetStateChange[] {
  const changes: TargetStateChange[] = [];
  for (const target of registry.values()) {
    const at = target.identity;
    changes.push({ target: at, transition: { kind: "health", health: target.health } });
    const now = target.clock.now();
    if (target.ejectedUntil > now) {
      const durationMs = target.ejectedUntil - now;
      const { ejections } = target;
      changes.push({ target: at, transition: { kind: "ejection", ejections, durationMs } });
    }
    if (target.breaker instanceof CircuitBreaker) {
      const { halfOpensInMs } = target.breaker.snapshot();
      if (halfOpensInMs !== null) {
        const transition = { kind: "breaker", state: "open", openForMs: halfOpensInMs } as const;
        changes.push({ target: at, transition });
      }
    }
  }
  return changes;
}

/**
 * Calls `send` with every transition the registry's targets make in this thread (health
 * from probes, breakers, ejections); returns the function that stops listening.
 */
export function watchTargetState(
  registry: TargetRegistry,
  send: (change: TargetStateChange) => void,
): () => void {
  return registry.subscribe((event) => {
    if (event.type === "changed")
      send({ target: event.target.identity, transition: event.transition });
  });
}
