/**
 * @module runtime/target-registry
 * Targets keyed by identity (origin and connect timeout), so a target that appears in
 * consecutive configs keeps its pool and state, and one that disappears is closed.
 */
import { Target } from "../upstream/target.ts";

/** Owns every Target the gateway has created. */
export class TargetRegistry {
  readonly #targets = new Map<string, Target>();

  /** The target for a URL, reusing the existing one when its identity matches. */
  acquire(url: string, weight: number, connectTimeout: number): Target {
    const key = `${new URL(url).origin}|${connectTimeout}|${weight}`;
    let target = this.#targets.get(key);
    if (!target) {
      target = new Target({ url, weight, connectTimeout });
      this.#targets.set(key, target);
    }
    return target;
  }

  /** Closes and forgets every target not in `keep`. */
  async retainOnly(keep: ReadonlySet<Target>): Promise<void> {
    const dropped: Target[] = [];
    for (const [key, target] of this.#targets) {
      if (keep.has(target)) continue;
      this.#targets.delete(key);
      dropped.push(target);
    }
    await Promise.all(dropped.map((target) => target.destroy()));
  }

  /** Closes every target. */
  async destroyAll(): Promise<void> {
    await this.retainOnly(new Set());
  }
}
