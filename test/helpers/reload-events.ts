/**
 * @module test/helpers/reload-events
 * Waiting for a file provider's reload events, bounded: tests wait for the reload they
 * caused rather than sleeping.
 */
import type { FileProvider, ReloadEvent } from "../../src/providers/file.ts";

/**
 * The next reload event of `provider` that `match` accepts; subscribe before causing it.
 * Rejects after `timeoutMs`, naming `what` and the events `seen` so far.
 */
export function nextReload(
  provider: FileProvider,
  match: (event: ReloadEvent) => boolean,
  what: string,
  seen: readonly ReloadEvent[] = [],
  timeoutMs = 5000,
): Promise<ReloadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      provider.off("reload", listener);
      reject(new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen)}`));
    }, timeoutMs);
    const listener = (event: ReloadEvent) => {
      if (!match(event)) return;
      clearTimeout(timer);
      provider.off("reload", listener);
      resolve(event);
    };
    provider.on("reload", listener);
  });
}
