/**
 * @module upstream/health/grpc-probe
 * The `grpc` active health probe: one unary `grpc.health.v1.Health/Check` call over a
 * fresh HTTP/2 session (h2c for `http://` targets, h2 over TLS for `https://`). Only a
 * SERVING answer passes. The two messages are declared as data and encoded by protobufjs,
 * so the wire format is the library's, not hand-rolled.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders } from "node:http2";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import protobuf from "protobufjs";
import { Http2SessionPool, SessionConnectError } from "../../proxy/grpc/session-pool.ts";
import type { Target } from "../target.ts";
import type { ProbeResult } from "./active.ts";

/** What a probe came to, before its duration is known. */
export type ProbeVerdict = Omit<ProbeResult, "durationMs">;

export interface GrpcProbeOptions {
  /** The service asked about; "" is the server as a whole. */
  service: string;
  /** `:authority` when not the target's `host:port`. */
  authority?: string | undefined;
  /** The name sent in SNI and checked in the certificate (`https://` targets). */
  servername?: string | undefined;
  /** Sent as metadata with the call. */
  headers: Readonly<Record<string, string>>;
  /** TLS settings for `https://` targets. */
  tls?: ConnectionOptions | undefined;
}

const health = protobuf.Root.fromJSON({
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: "string", id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: "ServingStatus", id: 1 } },
                  nested: {
                    ServingStatus: {
                      values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
});
const checkRequest = health.lookupType("grpc.health.v1.HealthCheckRequest");
const checkResponse = health.lookupType("grpc.health.v1.HealthCheckResponse");
const servingStatus = health.lookupEnum("grpc.health.v1.HealthCheckResponse.ServingStatus");
const serving = servingStatus.values.SERVING;

/** A health answer is two bytes; anything past this is not one. */
const maxResponseBytes = 1024;

/**
 * Calls Health/Check on `target`. Never rejects: every failure is a verdict. `signal`
 * (the check's timeout) aborts the call; the caller reports that as a timeout.
 */
export async function probeGrpc(
  target: Target,
  options: GrpcProbeOptions,
  signal: AbortSignal,
): Promise<ProbeVerdict> {
  const { servername } = options;
  const tls = {
    ...(servername !== undefined && isIP(servername) === 0 ? { servername } : {}),
    ...options.tls,
  };
  // A session per probe, as HTTP probes open a connection per probe: it meets what a new
  // session would (accept queue, TLS), and no stale session can keep a target down.
  const sessions = new Http2SessionPool(target.origin, {
    connectTimeout: 60_000, // bounded by `signal`
    idleTimeout: 60_000,
    tls,
  });
  try {
    const stream = await sessions.request(
      {
        ...options.headers,
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        ...(options.authority === undefined ? {} : { ":authority": options.authority }),
        "content-type": "application/grpc",
        te: "trailers",
      },
      { signal },
    );
    // The pool's signal bounds only the wait for a stream: the stream's own end is ours.
    const cancel = () => stream.destroy(new Error("the check was abandoned"));
    if (signal.aborted) cancel();
    else signal.addEventListener("abort", cancel, { once: true });
    try {
      stream.end(frame(checkRequest.encode({ service: options.service }).finish()));
      return verdictOf(await answer(stream));
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  } catch (error) {
    if (error instanceof SessionConnectError) {
      return { ok: false, kind: "connect-failure", detail: error.code ?? error.message };
    }
    const { code, message } = error as NodeJS.ErrnoException;
    return { ok: false, kind: "reset", detail: code ?? message };
  } finally {
    void sessions.destroy();
  }
}

interface Answer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
}

/** The whole response of a unary call, or the stream's error. */
function answer(stream: ClientHttp2Stream): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("response", (received) => {
      headers = received;
    });
    stream.on("trailers", (received) => {
      trailers = received;
    });
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxResponseBytes) stream.destroy(new Error("response too large"));
      else chunks.push(chunk);
    });
    stream.on("end", () => resolve({ headers, trailers, body: Buffer.concat(chunks) }));
    stream.on("error", reject);
    stream.on("close", () => reject(new Error("stream closed before the response ended")));
  });
}

function verdictOf({ headers, trailers, body }: Answer): ProbeVerdict {
  const status = Number(headers[":status"]);
  if (status !== 200) return { ok: false, kind: "server-error", detail: `status ${status}` };
  // A call that failed at once may put its status in the headers (trailers-only).
  const grpcStatus = trailers["grpc-status"] ?? headers["grpc-status"];
  if (grpcStatus === undefined) return { ok: false, kind: "reset", detail: "no grpc-status" };
  if (grpcStatus !== "0") {
    const message = trailers["grpc-message"] ?? headers["grpc-message"];
    const detail = `grpc-status ${grpcStatus}${message ? `: ${readable(String(message))}` : ""}`;
    return { ok: false, kind: "server-error", detail };
  }
  const message = unframe(body);
  if (!message) return { ok: false, kind: "reset", detail: "malformed response message" };
  let value: number;
  try {
    value = (checkResponse.decode(message) as unknown as { status: number }).status;
  } catch {
    return { ok: false, kind: "reset", detail: "malformed response message" };
  }
  const name = servingStatus.valuesById[value] ?? String(value);
  return value === serving
    ? { ok: true, kind: "success", detail: name }
    : { ok: false, kind: "server-error", detail: name };
}

/** A gRPC length-prefixed message: not compressed, 4-byte big-endian length. */
function frame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** The one uncompressed message of `body`, or undefined when it is not exactly that. */
function unframe(body: Buffer): Buffer | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  return body.length === 5 + length ? body.subarray(5) : undefined;
}

/** grpc-message is percent-encoded; a malformed one is shown as sent. */
function readable(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}
