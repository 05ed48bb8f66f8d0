/**
 * @module observability/logger
 * The process log (`gateway.log`): leveled JSON lines from pino about the gateway itself
 * (start, listeners, reloads, draining, plugin and upstream trouble), apart from the
 * per-request access log. Written synchronously: the lines are few and none is on the
 * request path, and a line written just before the process exits must not be lost.
 */
import pino, { type DestinationStream, type Logger } from "pino";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { processSecrets } from "../config/secret-values.ts";

export type { Logger } from "pino";

export type LogConfig = GatehouseConfig["gateway"]["log"];

/**
 * Fields whose values are credentials wherever they turn up; censored even if some code
 * path logs a request's headers or a plugin's config by mistake.
 */
const secretFields = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "apikey",
  "apiKey",
  "password",
  "token",
  "secret",
];
const redact = {
  paths: secretFields.flatMap((name) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : `["${name}"]`;
    const nested = key.startsWith("[") ? key : `.${key}`;
    return [key, `*${nested}`, `*.headers${nested}`];
  }),
  censor: "[redacted]",
};

/** The process logger for `gateway.log`; `destination` overrides the configured one. */
export function createLogger(settings: LogConfig, destination?: DestinationStream): Logger {
  return pino(
    {
      level: settings.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names ("warn"), not numbers: the lines are read by people as much as by tools.
      formatters: { level: (label) => ({ level: label }) },
      redact,
    },
    redactingSecrets(destination ?? destinationOf(settings.destination)),
  );
}

/**
 * `stream` with every value the config loader substituted from `${env:…}`, `${file:…}` or
 * `${enc:…}` blanked out of each line, wherever in the line it turns up (a message, an
 * error, a field with an innocent name). Lines are parsed, not searched as text, so a
 * secret is matched unescaped and the line stays valid JSON.
 */
function redactingSecrets(stream: DestinationStream): DestinationStream {
  const write = (line: string) => stream.write(withoutSecrets(line));
  return new Proxy(stream, {
    get(target, property) {
      if (property === "write") return write;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function withoutSecrets(line: string): string {
  if (processSecrets.size === 0) return line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return processSecrets.redactText(line);
  }
  const cleaned = processSecrets.redactDeep(parsed);
  const text = JSON.stringify(cleaned);
  return text === JSON.stringify(parsed) ? line : `${text}\n`;
}

function destinationOf(destination: string): DestinationStream {
  if (destination === "stdout") return pino.destination({ dest: 1, sync: true });
  if (destination === "stderr") return pino.destination({ dest: 2, sync: true });
  return pino.destination({ dest: destination, sync: true, mkdir: true });
}

/**
 * For code built outside a gateway (a plugin created by a test, a chain compiled on its
 * own): warnings and worse still go somewhere, as JSON on stderr.
 */
export const fallbackLogger: Logger = pino(
  {
    level: "warn",
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact,
  },
  redactingSecrets(pino.destination({ dest: 2, sync: true })),
);
