/**
 * @module test/helpers/otlp-receiver
 * A real OTLP/HTTP traces receiver on a free loopback port: it accepts
 * `POST /v1/traces` with the JSON encoding (ExportTraceServiceRequest), answers as a
 * collector does, decodes every span that arrives into a flat record, and checks every
 * request against the OTLP message definitions (test/helpers/otlp-proto.ts).
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { otlpJsonProblems } from "./otlp-proto.ts";

/** One received span, its attributes flattened to plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP span kind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  resource: Record<string, string | number | boolean>;
  startNanos: bigint;
  endNanos: bigint;
}

export interface OtlpReceiver {
  /** The traces endpoint to configure as `gateway.tracing.endpoint`. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Export requests received, with the headers they came with. */
  exports: { contentType: string; headers: Record<string, string | string[] | undefined> }[];
  /** Every export request's body, parsed. */
  bodies: unknown[];
  /** What did not conform to the OTLP definitions, over all requests; [] when all did. */
  problems: string[];
  /** Export requests answered with a refusal from `refuse`, in order. */
  refused: number[];
  /**
   * Answers the next export requests with these refusals, in order (their spans are not
   * kept), as a collector that is overloaded or rejects the data does; then 200 again.
   */
  refuse(...answers: { status: number; headers?: Record<string, string> }[]): void;
  /** Resolves once at least `count` spans arrived; rejects after `timeoutMs`. */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

function plainValue(value: OtlpValue): string | number | boolean {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return "";
}

function attributesOf(
  list: OtlpAttribute[] | undefined,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) out[key] = plainValue(value);
  return out;
}

/** Decodes one JSON export request into spans. */
function decode(body: OtlpRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of body.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? "",
          name: span.name,
          kind: span.kind,
          attributes: attributesOf(span.attributes),
          statusCode: span.status?.code ?? 0,
          resource,
          startNanos: BigInt(span.startTimeUnixNano),
          endNanos: BigInt(span.endTimeUnixNano),
        });
      }
    }
  }
  return spans;
}

/** Starts the receiver. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const exports: OtlpReceiver["exports"] = [];
  const bodies: unknown[] = [];
  const problems: string[] = [];
  const refused: number[] = [];
  const answers: { status: number; headers?: Record<string, string> }[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const contentType = req.headers["content-type"] ?? "";
      if (req.method !== "POST" || req.url !== "/v1/traces" || !contentType.includes("json")) {
        res.writeHead(415).end();
        return;
      }
      const refusal = answers.shift();
      if (refusal !== undefined) {
        refused.push(refusal.status);
        res.writeHead(refusal.status, refusal.headers).end();
        for (const wake of waiters) wake();
        return;
      }
      exports.push({ contentType, headers: req.headers });
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      bodies.push(body);
      problems.push(...otlpJsonProblems(body));
      spans.push(...decode(body as OtlpRequest));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
      for (const wake of waiters) wake();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    exports,
    bodies,
    problems,
    refused,
    refuse: (...next) => {
      answers.push(...next);
    },
    waitForSpans(count, timeoutMs = 5000) {
      if (spans.length >= count) return Promise.resolve(spans);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} spans, received ${spans.length} in ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (spans.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(spans);
        };
        waiters.add(check);
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
