/**
 * @module proxy/grpc/grpc-web-reply
 * Writing a gRPC-Web answer on an HTTP/1.1 or HTTP/2 response: always HTTP 200 with the
 * gRPC-Web content type, the route's onResponse hooks given the headers first (so CORS
 * applies), messages as they came (base64 for `-text`), and the status as the body's last
 * frame (flag 0x80) because browsers cannot read HTTP trailers. An answer that is its
 * status alone (a gateway error, a trailers-only answer upstream) carries `grpc-status` and
 * `grpc-message` in its headers and has an empty body, as gRPC-Web clients read it.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { type ErrorCode, errorCatalogue } from "../../errors.ts";
import { encodeGrpcMessage, grpcStatusOfHttp } from "../../grpc/status.ts";
import { encodeTrailersFrame, type GrpcWebMode } from "../../grpc/web.ts";
import type { PluginAnswer } from "../../pipeline/context.ts";
import { grpcStatusOfError } from "./error-status.ts";

/** Lets the route's onResponse hooks change the answer's headers (see runResponseHooks). */
export type DecorateHeaders = (status: number, headers: string[]) => Promise<void> | undefined;

/** What the answer is written to: a ServerResponse or an Http2ServerResponse. */
export interface GrpcWebResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: string[]): unknown;
  write(chunk: Buffer | string): boolean;
  end(chunk?: Buffer | string): unknown;
  destroy(error?: Error): unknown;
  once(event: "drain", listener: () => void): unknown;
}

/** Headers of the upstream's answer that describe the HTTP/2 exchange, not the call. */
const notPassed = new Set(["content-type", "content-length", "date", "server"]);

/** One gRPC-Web answer, written in order: head, messages, status. */
export class GrpcWebReply {
  readonly #res: GrpcWebResponse;
  readonly #requestId: string;
  readonly #mode: GrpcWebMode;
  readonly #decorate: DecorateHeaders | undefined;
  /** The head, while the onResponse hooks it waits for run. */
  #pendingHead: Promise<void> | undefined;

  constructor(
    res: GrpcWebResponse,
    requestId: string,
    mode: GrpcWebMode,
    decorate?: DecorateHeaders,
  ) {
    this.#res = res;
    this.#requestId = requestId;
    this.#mode = mode;
    this.#decorate = decorate;
  }

  /** Sends the head: the upstream's response metadata (or `extra`) and the gRPC-Web type. */
  head(metadata: IncomingHttpHeaders | OutgoingHttpHeaders): void {
    const headers = headerList(metadata);
    headers.push("content-type", this.#mode.responseContentType, "x-request-id", this.#requestId);
    const res = this.#res;
    const pending = this.#decorate?.(200, headers);
    if (!pending) {
      res.writeHead(200, headers);
      return;
    }
    this.#pendingHead = pending.then(
      () => {
        this.#pendingHead = undefined;
        if (!res.headersSent && !res.destroyed) res.writeHead(200, headers);
      },
      // A hook that failed: the answer cannot be made whole.
      (error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /** Passes response bytes on; false when the client must drain first (`resume` is called). */
  data(chunk: Buffer, resume: () => void): boolean {
    if (this.#pendingHead) {
      void this.#pendingHead.then(() => {
        if (this.#write(chunk)) resume();
        else this.#res.once("drain", resume);
      });
      return false;
    }
    if (this.#write(chunk)) return true;
    this.#res.once("drain", resume);
    return false;
  }

  /** Ends the answer with the status: a trailers frame after a head, else a status-only answer. */
  end(trailers: IncomingHttpHeaders | OutgoingHttpHeaders, headSent: boolean): void {
    if (!headSent) {
      this.head(trailers);
      this.#afterHead(() => this.#res.end());
      return;
    }
    const lines: Record<string, string> = {};
    for (const [name, value] of Object.entries(trailers)) {
      if (name.startsWith(":") || value === undefined) continue;
      lines[name] = Array.isArray(value) ? value.join(", ") : String(value);
    }
    const frame = Buffer.from(encodeTrailersFrame(lines));
    this.#afterHead(() => this.#res.end(this.#mode.text ? frame.toString("base64") : frame));
  }

  /** Answers with a status alone (nothing was sent yet); `headers` go with it. */
  status(code: number, message: string, headers: Record<string, string> = {}): void {
    this.end(
      { ...headers, "grpc-status": String(code), "grpc-message": encodeGrpcMessage(message) },
      false,
    );
  }

  /** Answers a catalogued error as the gRPC status it maps to; returns that status. */
  error(code: ErrorCode, message: string = errorCatalogue[code].message): number {
    const status = grpcStatusOfError[code];
    this.status(status, message);
    return status;
  }

  /** A plugin's answer: its error's status, or the status gRPC gives its HTTP status. */
  pluginAnswer(answer: PluginAnswer): number {
    const { "content-type": _, ...headers } = answer.headers;
    const status =
      answer.code !== undefined ? grpcStatusOfError[answer.code] : grpcStatusOfHttp(answer.status);
    const message =
      answer.code !== undefined
        ? errorCatalogue[answer.code].message
        : `a plugin answered with HTTP status ${answer.status}`;
    this.status(status, message, headers);
    return status;
  }

  #write(chunk: Buffer): boolean {
    return this.#res.write(this.#mode.text ? chunk.toString("base64") : chunk);
  }

  #afterHead(then: () => void): void {
    if (this.#pendingHead) void this.#pendingHead.then(then);
    else then();
  }
}

/** A header object as a flat list, less pseudo-headers and what describes the exchange. */
function headerList(metadata: IncomingHttpHeaders | OutgoingHttpHeaders): string[] {
  const headers: string[] = [];
  for (const [name, value] of Object.entries(metadata)) {
    if (value === undefined || name.startsWith(":") || notPassed.has(name)) continue;
    if (Array.isArray(value)) for (const one of value) headers.push(name, String(one));
    else headers.push(name, String(value));
  }
  return headers;
}
