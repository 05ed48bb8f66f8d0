/**
 * @module proxy/respond
 * Writing the gateway's own answers: errors as JSON in the catalogue's shape, with the
 * request id, on a response (the proxy's and the admin API's) or (before any response
 * exists) straight onto the socket; and plugins' answers.
 */
import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import { type Duplex, Readable } from "node:stream";
import { type ErrorCode, errorBody, errorCatalogue, type GatehouseError } from "../errors.ts";
import type { PluginAnswer } from "../pipeline/context.ts";
import { isExchange } from "../server/exchange.ts";
import { addVary } from "./headers.ts";

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
  // An error of a versioned route (a 502, say) is as much the version's as its answers.
  if (isExchange(res) && res.varyOn !== "" && headers.vary === undefined) headers.vary = res.varyOn;
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

/**
 * Sends a plugin's answer (instead of the upstream's). Returns a promise when `decorate`
 * went asynchronous: the answer is sent when it settles, unless the response was cut.
 */
export function sendAnswer(
  res: ServerResponse,
  requestId: string,
  answer: PluginAnswer,
  close: boolean,
  /** Lets onResponse hooks add their headers (CORS, security headers) to the answer too. */
  decorate?: (status: number, headers: string[]) => Promise<void> | undefined,
): Promise<void> | undefined {
  const { body } = answer;
  const headers: string[] = [];
  for (const [name, value] of Object.entries(answer.headers)) headers.push(name, value);
  if (!(body instanceof Readable)) headers.push("content-length", String(Buffer.byteLength(body)));
  headers.push("x-request-id", requestId);
  if (close) headers.push("connection", "close");
  const pending = decorate?.(answer.status, headers);
  if (pending) {
    return pending.then(
      () => {
        if (!res.headersSent && !res.destroyed) writeAnswer(res, answer, headers);
        // The client went away (or a failure answered) while the hooks waited: a streamed
        // body goes nowhere, and would hold what it reads from (a file, a connection).
        else if (body instanceof Readable) body.destroy();
      },
      (error: unknown) => {
        if (body instanceof Readable) body.destroy();
        throw error;
      },
    );
  }
  writeAnswer(res, answer, headers);
  return undefined;
}

function writeAnswer(res: ServerResponse, answer: PluginAnswer, headers: string[]): void {
  const { body } = answer;
  if (isExchange(res) && res.varyOn !== "") addVary(headers, res.varyOn);
  res.writeHead(answer.status, headers);
  if (body instanceof Readable) {
    record(res, answer.code ?? "", "");
    pipeAnswer(body, res);
  } else {
    record(res, answer.code ?? "", body);
    res.end(body);
  }
}

/**
 * Streams a plugin's answer body to the client, counting it. A stream that fails cuts the
 * response (the client must not take a short body for a whole one); a client that goes
 * away ends the stream.
 */
function pipeAnswer(body: Readable, res: ServerResponse): void {
  if (isExchange(res)) {
    body.on("data", (chunk: Buffer | string) => {
      res.bytesOut += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
    });
  }
  body.once("error", (error) => res.destroy(error));
  res.once("close", () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(res);
}

/** Notes the gateway's own answer on the exchange record, for metrics and logs. */
function record(res: ServerResponse, code: string, body: string | Buffer): void {
  if (!isExchange(res)) return;
  res.errorCode = code;
  res.bytesOut += Buffer.byteLength(body);
}

/** Writes a plugin's answer to an upgrade request onto its raw socket, then closes it. */
export function writeRawAnswer(socket: Duplex, requestId: string, answer: PluginAnswer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { body } = answer;
  let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}\r\n`;
  for (const [name, value] of Object.entries(answer.headers)) head += `${name}: ${value}\r\n`;
  // A streamed body on a raw socket is delimited by the close: its length is not known.
  if (!(body instanceof Readable)) head += `content-length: ${Buffer.byteLength(body)}\r\n`;
  head += `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n`;
  if (body instanceof Readable) {
    socket.write(head);
    body.once("error", () => socket.destroy());
    // A client that goes away ends the stream, as on a response (see pipeAnswer). The
    // upgrade's socket stays half open when the client ends its side: nobody is reading.
    socket.once("end", () => socket.destroy());
    socket.once("close", () => {
      if (!body.readableEnded) body.destroy();
    });
    body.pipe(socket).once("finish", () => socket.destroy());
    return;
  }
  const whole = typeof body === "string" ? head + body : Buffer.concat([Buffer.from(head), body]);
  socket.end(whole, () => socket.destroy());
}
