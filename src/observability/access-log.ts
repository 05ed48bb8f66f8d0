/**
 * @module observability/access-log
 * One JSON line per finished request, written off the request path: lines are gathered
 * for up to 10 ms (or 64 KiB) and go as one chunk to pino's asynchronous destination
 * (SonicBoom), which gathers chunks while a write is in flight. Past `bufferSize` of
 * backlog (a stalled disk) new lines are dropped and counted rather than held without end
 * or waited for.
 * Nothing a client sends as a credential is ever written: no request header but Host and
 * User-Agent, and no query unless asked for, with credential arguments redacted.
 */
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import pino from "pino";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { type ExchangeObserver, type GatewayResponse, requestBytes } from "../server/exchange.ts";
import type { Logger } from "./logger.ts";

type AccessLogConfig = GatehouseConfig["gateway"]["accessLog"];
type Field = AccessLogConfig["fields"][number];
type Line = Record<string, string | number | null>;
/** pino's destination in its buffer mode, which takes Buffers (its types know only text). */
type SonicBoom = Omit<ReturnType<typeof pino.destination>, "write"> & {
  write(chunk: Buffer): boolean;
};

/** What the access log needs from the gateway. */
export interface AccessLogHost {
  /** The client address as the gateway judges it (trusted proxies applied). */
  clientAddress(req: IncomingMessage): string;
  /** Lines were dropped because the destination fell too far behind. */
  dropped(lines: number): void;
  /** The process log, for the access log's own trouble. */
  log: Logger;
  /** For sampling; Math.random unless a test injects one. */
  random?: () => number;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * How long a line may wait for others to share its write. Each write is a round trip
 * through libuv's thread pool (two thread wake-ups, an event-loop turn): written once per
 * turn, that cost more than building the line. nginx's `access_log ... buffer= flush=`
 * makes the same trade.
 */
const flushDelayMs = 10;
/** Gathered lines are written at once when they reach this many characters. */
const flushLength = 64 * 1024;
const newline = 0x0a;

/** Lines in a chunk the destination dropped. */
function lineCount(chunk: Buffer): number {
  let lines = 0;
  for (let at = chunk.indexOf(newline); at !== -1; at = chunk.indexOf(newline, at + 1)) lines++;
  return lines;
}
const traceparent = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Reads one field of a finished exchange; `now` is when it finished. */
type FieldWriter = (line: Line, res: GatewayResponse, now: number, host: AccessLogHost) => void;

const writers: Record<Field, FieldWriter> = {
  time: (line) => {
    line.time = isoNow();
  },
  requestId: (line, res) => {
    line.requestId = res.requestId;
  },
  clientIp: (line, res, _now, host) => {
    line.clientIp = host.clientAddress(res.req);
  },
  method: (line, res) => {
    line.method = res.req.method ?? "";
  },
  host: (line, res) => {
    line.host = res.req.headers.host ?? "";
  },
  path: (line, res) => {
    const url = res.req.url ?? "";
    const at = url.indexOf("?");
    line.path = at === -1 ? url : url.slice(0, at);
  },
  query: (line, res) => {
    line.query = redactedQuery(res.req.url ?? "", res.credentialQuery);
  },
  route: (line, res) => {
    line.route = res.route;
  },
  service: (line, res) => {
    line.service = res.service;
  },
  target: (line, res) => {
    line.target = res.target;
  },
  status: (line, res) => {
    line.status = statusOf(res);
  },
  bytesIn: (line, res) => {
    line.bytesIn = requestBytes(res);
  },
  bytesOut: (line, res) => {
    line.bytesOut = res.bytesOut;
  },
  durationMs: (line, res, now) => {
    line.durationMs = round(now - res.startedAt);
  },
  upstreamMs: (line, res, now) => {
    line.upstreamMs =
      res.upstreamStartedAt > 0 ? round(upstreamEnd(res, now) - res.upstreamStartedAt) : null;
  },
  gatewayMs: (line, res, now) => {
    const upstream = res.upstreamStartedAt > 0 ? upstreamEnd(res, now) - res.upstreamStartedAt : 0;
    line.gatewayMs = round(now - res.startedAt - upstream);
  },
  retries: (line, res) => {
    line.retries = res.retries;
  },
  consumer: (line, res) => {
    line.consumer = res.consumer;
  },
  errorCode: (line, res) => {
    line.errorCode = res.errorCode;
  },
  grpcStatus: (line, res) => {
    line.grpcStatus = res.grpcStatus >= 0 ? res.grpcStatus : null;
  },
  userAgent: (line, res) => {
    line.userAgent = res.req.headers["user-agent"] ?? "";
  },
  traceId: (line, res) => {
    if (res.trace) {
      line.traceId = res.trace.traceId;
      return;
    }
    const header = res.req.headers.traceparent;
    line.traceId = (typeof header === "string" && traceparent.exec(header)?.[1]) || "";
  },
};

let isoAt = 0;
let iso = "";
/** The current time as ISO 8601, formatted once per millisecond however many lines share it. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    iso = new Date(now).toISOString();
  }
  return iso;
}

function statusOf(res: GatewayResponse): number {
  // No status was sent when the client left first; nginx's 499 says so.
  return res.headersSent ? res.statusCode : 499;
}

function upstreamEnd(res: GatewayResponse, now: number): number {
  return res.upstreamEndedAt || now;
}

/** The query string, with the values of arguments plugins took as credentials replaced. */
function redactedQuery(url: string, credentials: readonly string[]): string {
  const at = url.indexOf("?");
  if (at === -1) return "";
  const query = url.slice(at);
  if (credentials.length === 0) return query;
  const params = new URLSearchParams(query.slice(1));
  for (const name of credentials) if (params.has(name)) params.set(name, "REDACTED");
  return `?${params.toString()}`;
}

/** The access log of one gateway. */
export class AccessLog implements ExchangeObserver {
  readonly #destination: SonicBoom;
  readonly #toStandardStream: boolean;
  #pending: string[] = [];
  /** Characters in #pending, newlines included. */
  #pendingLength = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #writers: FieldWriter[];
  readonly #sampleRatio: number;
  readonly #host: AccessLogHost;
  readonly #random: () => number;

  constructor(config: AccessLogConfig, host: AccessLogHost) {
    this.#host = host;
    this.#random = host.random ?? Math.random;
    this.#sampleRatio = config.sampleRatio;
    this.#writers = config.fields.map((field) => writers[field]);
    const dest =
      config.destination === "stdout"
        ? 1
        : config.destination === "stderr"
          ? 2
          : config.destination;
    this.#toStandardStream = typeof dest === "number";
    const destination = pino.destination({
      dest,
      sync: false,
      mkdir: true,
      maxLength: config.bufferSize,
      // Chunks are handed over encoded once: in its text mode SonicBoom measures, encodes
      // and re-encodes each chunk on its way to the file.
      contentMode: "buffer",
    });
    destination.on("drop", (chunk: Buffer) => host.dropped(lineCount(chunk)));
    this.#destination = destination as unknown as SonicBoom;
  }

  started(): void {}

  finished(res: GatewayResponse): void {
    if (this.#sampleRatio < 1 && statusOf(res) < 400 && this.#random() >= this.#sampleRatio) {
      return;
    }
    const now = performance.now();
    const line: Line = {};
    for (const write of this.#writers) write(line, res, now, this.#host);
    // A flat object of strings and numbers: JSON.stringify is faster here than building
    // the text by hand (measured), and escapes exactly as JSON requires.
    const text = JSON.stringify(line);
    this.#pending.push(text);
    this.#pendingLength += text.length + 1;
    if (this.#pendingLength >= flushLength) this.#writePending();
    else this.#timer ??= setTimeout(this.#writePending, flushDelayMs);
  }

  /** Hands the gathered lines to the destination as one chunk. */
  readonly #writePending = (): void => {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending.length === 0) return;
    const chunk = `${this.#pending.join("\n")}\n`;
    this.#pending = [];
    this.#pendingLength = 0;
    this.#destination.write(Buffer.from(chunk));
  };

  /** Writes what is buffered; a file is closed, stdout and stderr stay open. */
  close(): Promise<void> {
    this.#writePending();
    const destination = this.#destination;
    return new Promise((resolve) => {
      if (this.#toStandardStream) {
        destination.flush((error) => {
          if (error) this.#host.log.warn({ err: error }, "access log flush failed");
          resolve();
        });
        return;
      }
      destination.once("close", () => resolve());
      destination.once("error", () => resolve());
      destination.end();
    });
  }
}
