/**
 * @module proxy/respond
 * Writing the gateway's own answers: errors as JSON in the catalogue's shape, with the
 * request id, on a response (the proxy's and the admin API's) or (before any response
 * exists) straight onto the socket; and plugins' answers.
 */
import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type ErrorCode, errorBody, errorCatalogue, type GatehouseError } from "../errors.ts";
import type { PluginAnswer } from "../pipeline/context.ts";
import { GatewayResponse } from "../server/exchange.ts";

/** How an error answer is written, besides what its code says. */
export interface ErrorAnswerOptions {
  /** End the connection after the answer. */
  close?: boolean;
  /** Headers to send besides the error's own. */
  headers?: Record<string, string>;
  /** Indent the JSON body for people (the admin API). */
  indent?: number;
}

/**
 * Answers a request with a catalogued error: a code (the request path's answers, with
 * the catalogue's message) or a thrown GatehouseError (its message, problems and headers).
 * The one writer of error responses on a ServerResponse: proxy, admin API alike.
 */
export function sendError(
  res: ServerResponse,
  error: ErrorCode | GatehouseError,
  requestId: string,
  options: ErrorAnswerOptions = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const thrown = typeof error === "string" ? undefined : error;
  const code = thrown ? thrown.code : (error as ErrorCode);
  const body = errorBody(code, requestId, thrown?.message, thrown?.problems, options.indent);
  record(res, code, body);
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "x-request-id": requestId,
    ...thrown?.headers,
    ...options.headers,
  };
  if (options.close) headers.connection = "close";
  res.writeHead(errorCatalogue[code].status, headers);
  res.end(body);
}

/** Writes a whole error response onto a raw socket (parser errors, refused upgrades) and closes it. */
export function writeRawError(socket: Duplex, code: ErrorCode, requestId: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = errorCatalogue[code].status;
  const body = errorBody(code, requestId);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/** Sends a plugin's answer (the request never reached the upstream). */
export function sendAnswer(
  res: ServerResponse,
  requestId: string,
  answer: PluginAnswer,
  close: boolean,
  /** Lets onResponse hooks add their headers (CORS, security headers) to the answer too. */
  decorate?: (status: number, headers: string[]) => void,
): void {
  record(res, answer.code ?? "", answer.body);
  const headers: string[] = [];
  for (const [name, value] of Object.entries(answer.headers)) headers.push(name, value);
  headers.push("content-length", String(Buffer.byteLength(answer.body)), "x-request-id", requestId);
  if (close) headers.push("connection", "close");
  decorate?.(answer.status, headers);
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

/** Notes the gateway's own answer on the exchange record, for metrics and logs. */
function record(res: ServerResponse, code: string, body: string): void {
  if (!(res instanceof GatewayResponse)) return;
  res.errorCode = code;
  res.bytesOut += Buffer.byteLength(body);
}

/** Writes a plugin's answer to an upgrade request onto its raw socket, then closes it. */
export function writeRawAnswer(socket: Duplex, requestId: string, answer: PluginAnswer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}\r\n`;
  for (const [name, value] of Object.entries(answer.headers)) head += `${name}: ${value}\r\n`;
  head += `content-length: ${Buffer.byteLength(answer.body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n`;
  socket.end(head + answer.body, () => socket.destroy());
}
