/**
 * @module config/units
 * Parsers for the human units the config accepts: durations (`250ms`, `5s`, `1m`) and
 * sizes (`512kb`, `10mb`, `1gb`).
 */

const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const durationMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Milliseconds in a duration such as `250ms`, `5s`, `1.5m`; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = durationPattern.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * durationMs[match[2]!]!);
}

const sizePattern = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/i;
const sizeBytes: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Bytes in a size such as `512kb`, `10mb`, `1gb` (binary multiples); undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const match = sizePattern.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * sizeBytes[(match[2] ?? "b").toLowerCase()]!);
}

/** A duration in milliseconds as the config writes it: `10s`, `5m`, `1500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = durationMs[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
