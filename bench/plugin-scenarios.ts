/**
 * @module bench/plugin-scenarios
 * Gatehouse with something on every request: its default config (metrics, and the access
 * log on stdout redirected to a file), metrics and an access log to a file with tracing at ratio 1.0 exporting to a local OTLP
 * sink; `jwt` (RS256, key in config) + `rate-limit` (Redis) + `cors`; and
 * `rate-limit` alone (memory); `cache` answering every request from memory; `compression`
 * gzipping a 10 KB JSON answer. Limits are far above what wrk can send, so every request is
 * admitted and does the full work.
 */
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { SignJWT } from "jose";
import { type ConfigExtras, measuredIndex } from "./configs.ts";
import { reportBody } from "./nginx.ts";
import { freePort, startChild, stopChild, waitForListening } from "./processes.ts";
import type { ExpectedAnswer } from "./verify.ts";

/** What a scenario needs running and sent, and how to take it down. */
export interface PreparedScenario {
  extras: ConfigExtras;
  /** Headers every measured request carries, as `Name: value`. */
  headers: string[];
  /** The path measured, when not the small JSON's (`/svc7/items/42`). */
  path?: string;
  /** The answer every measured request must get, when not the small JSON as it is. */
  expected?: ExpectedAnswer;
  /** A file the gateway's stdout goes to (opened for appending), instead of the harness's pipe. */
  stdoutFile?: string;
  /** Processes the row runs beside the gateway (its redis-server), whose CPU the row also costs. */
  helpers?: HelperProcess[];
  stop(): Promise<void>;
}

/** A process a row needs running beside the measured one, named as the table names it. */
export interface HelperProcess {
  name: string;
  pid: number | undefined;
}

export interface PluginScenario {
  name: string;
  label: string;
  prepare(dir: string): Promise<PreparedScenario>;
}

const origin = "https://app.example.com";
/** Never reached in a bench run: the limiter decides on every request but admits them all. */
const unreachedLimit = "{ limit: 1000000, window: 1s }";

const authStack: PluginScenario = {
  name: "gatehouse-auth-stack",
  label: "Gatehouse + jwt RS256, rate-limit (Redis), cors",
  async prepare(dir) {
    const redis = await startRedis(dir);
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const token = await new SignJWT({ sub: "bench" })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer("https://issuer.example.com")
      .setIssuedAt()
      .setExpirationTime("1d")
      .sign(privateKey);
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    return {
      extras: {
        name: "auth-stack",
        gateway: ["  stores:", `    redis: { url: "${redis.url}" }`],
        plugins: [
          `  - { name: cors, config: { origins: ["${origin}"] } }`,
          "  - name: jwt",
          "    config:",
          "      algorithms: [RS256]",
          "      issuer: https://issuer.example.com",
          `      publicKey: ${JSON.stringify(pem)}`,
          `  - { name: rate-limit, config: { store: redis, by: ip, limits: [${unreachedLimit}] } }`,
        ],
      },
      headers: [`Authorization: Bearer ${token}`, `Origin: ${origin}`],
      helpers: [{ name: "redis-server", pid: redis.pid }],
      stop: redis.stop,
    };
  },
};

const memoryRateLimit: PluginScenario = {
  name: "gatehouse-rate-limit",
  label: "Gatehouse + rate-limit (memory)",
  async prepare() {
    return {
      extras: {
        name: "rate-limit",
        plugins: [`  - { name: rate-limit, config: { by: ip, limits: [${unreachedLimit}] } }`],
      },
      headers: [],
      stop: async () => {},
    };
  },
};

/** Every measured request is answered from the cache's memory; the upstream sees one. */
const cacheHit: PluginScenario = {
  name: "gatehouse-cache-hit",
  label: "Gatehouse + cache (memory, every request a hit)",
  async prepare() {
    return {
      extras: {
        name: "cache-hit",
        // The upstream sends no Cache-Control: the route's ttl makes its answer fresh.
        plugins: ["  - { name: cache, config: { ttl: 1h } }"],
      },
      headers: [],
      stop: async () => {},
    };
  },
};

const compression: PluginScenario = {
  name: "gatehouse-compression",
  label: "Gatehouse + compression gzip of a 10 KB JSON",
  async prepare() {
    return {
      extras: {
        name: "compression",
        // gzip alone: the coding every client decodes, at its default level.
        plugins: ["  - { name: compression, config: { encodings: [gzip] } }"],
      },
      headers: ["Accept-Encoding: gzip"],
      path: `/svc${measuredIndex(10)}/items/report`,
      expected: { body: reportBody, contentEncoding: "gzip" },
      stop: async () => {},
    };
  },
};

/**
 * The default config as a process manager (systemd, Docker, pm2) runs it: metrics on and
 * the access log on stdout, the default destination, with stdout redirected to a file.
 */
const observed: PluginScenario = {
  name: "gatehouse-observed",
  label: "Gatehouse, default config (metrics + access log to stdout > file)",
  async prepare(dir) {
    return {
      extras: { name: "observed", observed: true },
      headers: [],
      stdoutFile: join(dir, "observed-stdout.log"),
      stop: async () => {},
    };
  },
};

/** Exactly the observed row (whatever it logs to) plus tracing every request to a local sink. */
const traced: PluginScenario = {
  name: "gatehouse-traced",
  label: "Gatehouse + metrics + access log + tracing (ratio 1.0)",
  async prepare(dir) {
    const port = await freePort();
    const sink = startChild("otlp-sink", process.execPath, [
      join(import.meta.dirname, "otlp-sink.ts"),
      String(port),
    ]);
    await waitForListening(sink, port, 15_000);
    const base = await observed.prepare(dir);
    return {
      ...base,
      extras: {
        ...base.extras,
        name: "traced",
        gateway: [
          ...(base.extras.gateway ?? []),
          `  tracing: { enabled: true, sampleRatio: 1, endpoint: "http://127.0.0.1:${port}/v1/traces" }`,
        ],
      },
      stop: async () => {
        await base.stop();
        await stopChild(sink);
      },
    };
  },
};

export const pluginScenarios: PluginScenario[] = [
  observed,
  traced,
  authStack,
  memoryRateLimit,
  cacheHit,
  compression,
];

/** A throwaway redis-server on a free loopback port, keeping nothing on disk. */
export async function startRedis(
  dir: string,
): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const port = await freePort();
  const child = startChild("redis-server", "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    join(dir),
  ]);
  await waitForListening(child, port, 15_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.process.pid,
    stop: () => stopChild(child),
  };
}
