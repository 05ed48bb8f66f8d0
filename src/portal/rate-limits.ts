/**
 * @module portal/rate-limits
 * The limits a route's `rate-limit` plugin applies, as the portal shows them: the
 * operation's `x-gatehouse-rate-limit` and one sentence for people ("100 requests per 1m
 * per ip"). The windows are shown as written in the config.
 */
import type { PluginConfig } from "../config/schema/index.ts";

export interface RateLimitNote {
  limit: number;
  window: string;
  /** What each count is kept per: `ip`, `consumer`, `header x-tenant`, combined with `+`. */
  by: string;
}

/** The limits of the route's `rate-limit` plugin (none without one). */
export function rateLimitNotes(plugins: readonly PluginConfig[]): RateLimitNote[] {
  const plugin = plugins.find(({ name }) => name === "rate-limit");
  if (!plugin) return [];
  const { config } = plugin;
  const by = keyLabel(config.by ?? "ip");
  const written = Array.isArray(config.limits)
    ? (config.limits as { limit?: unknown; window?: unknown }[])
    : [{ limit: config.limit, window: config.window }];
  return written
    .filter((rule) => typeof rule.limit === "number")
    .map((rule) => ({ limit: rule.limit as number, window: String(rule.window), by }));
}

/** "100 requests per 1m per ip" */
export function rateLimitSentence(note: RateLimitNote): string {
  return `${note.limit} ${note.limit === 1 ? "request" : "requests"} per ${note.window} per ${note.by}`;
}

function keyLabel(by: unknown): string {
  const parts = Array.isArray(by) ? by : [by];
  return parts
    .map((part) =>
      typeof part === "string"
        ? part
        : `header ${(part as { header?: unknown } | null)?.header ?? "?"}`,
    )
    .join(" + ");
}
