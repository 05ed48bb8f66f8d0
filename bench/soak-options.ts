/**
 * @module bench/soak-options
 * Command-line flags of `npm run soak`. Every interval can be shortened, so the same
 * script runs for 30 minutes by hand and for seconds in its test.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

export interface SoakOptions {
  durationMs: number;
  sampleEveryMs: number;
  reloadEveryMs: number;
  killEveryMs: number;
  /** How long a killed target stays down. */
  downForMs: number;
  /** HTTP requests per second, and the cap on requests in flight. */
  rate: number;
  concurrency: number;
  webSockets: number;
  targets: number;
  out: string;
}

export const soakUsage = `usage: npm run soak -- [options]

  --duration <time>       how long the traffic runs                  (default 30m)
  --sample-every <time>   one sample of memory, fds, p99, errors     (default 10s)
  --reload-every <time>   the config file rewritten                  (default 10s)
  --kill-every <time>     one target killed, then started again      (default 1m)
  --down-for <time>       how long a killed target stays down        (default 15s)
  --rate <n>              HTTP requests per second                   (default 200)
  --concurrency <n>       at most this many HTTP requests in flight  (default 32)
  --websockets <n>        WebSocket clients, one message a second    (default 4)
  --targets <n>           targets of the upstream service            (default 3)
  --out <dir>             where samples.csv, samples.json, soak.svg go
                          (default: a new soak-<time> folder under the temp directory)
  -h, --help              this text

<time> is a number with ms, s, m or h (e.g. 90s, 5m).`;

/** Parses argv; throws a readable error on a bad value. */
export function parseSoakOptions(argv: string[], now = new Date()): SoakOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      "sample-every": { type: "string" },
      "reload-every": { type: "string" },
      "kill-every": { type: "string" },
      "down-for": { type: "string" },
      rate: { type: "string" },
      concurrency: { type: "string" },
      websockets: { type: "string" },
      targets: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const killEveryMs = milliseconds("--kill-every", values["kill-every"] ?? "1m");
  const downForMs = milliseconds("--down-for", values["down-for"] ?? "15s");
  if (downForMs >= killEveryMs) throw new Error("--down-for must be shorter than --kill-every");
  const targets = whole("--targets", values.targets ?? "3");
  if (targets < 2) throw new Error("--targets must be at least 2: one is killed at a time");
  const stamp = now.toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return {
    durationMs: milliseconds("--duration", values.duration ?? "30m"),
    sampleEveryMs: milliseconds("--sample-every", values["sample-every"] ?? "10s"),
    reloadEveryMs: milliseconds("--reload-every", values["reload-every"] ?? "10s"),
    killEveryMs,
    downForMs,
    rate: whole("--rate", values.rate ?? "200"),
    concurrency: whole("--concurrency", values.concurrency ?? "32"),
    webSockets: whole("--websockets", values.websockets ?? "4", 0),
    targets,
    out: values.out ?? join(tmpdir(), `soak-${stamp}`),
  };
}

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function milliseconds(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  const value = match ? Number(match[1]) * units[match[2]!]! : Number.NaN;
  if (!(value >= 100))
    throw new Error(`${flag}: expected a time of at least 100ms like 10s or 5m, got "${text}"`);
  return value;
}

function whole(flag: string, text: string, min = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${flag}: expected a whole number of at least ${min}, got "${text}"`);
  return value;
}
