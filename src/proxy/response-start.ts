/**
 * @module proxy/response-start
 * How a committed upstream response starts towards the client: the onResponse hooks run
 * on its head (holding it while an asynchronous one waits, changing its status or
 * headers, or replacing it with a plugin's answer), then the head is written, at once or, when plugins transform the
 * body, with the first transformed bytes.
 */
import { STATUS_CODES } from "node:http";
import type { ErrorCode } from "../errors.ts";
import { runFailureHooks, runResponseHooks } from "../pipeline/chain.ts";
import { runnerState } from "../pipeline/context.ts";
import type { ResponseView } from "../pipeline/plugin.ts";
import type { ForwardRequest } from "./forward-request.ts";
import { addVary, setHeader } from "./headers.ts";
import { hasUnreadBody } from "./request-body.ts";
import { sendAnswer, sendError } from "./respond.ts";
import { TransformedResponse } from "./transformed-body.ts";
import type { UpstreamTry } from "./upstream-try.ts";

/** What starting a response needs from the request it belongs to. */
export interface ResponseStartOwner {
  readonly request: ForwardRequest;
  /** Whether `attempt` is still the try being answered and nothing has ended the request. */
  answering(attempt: UpstreamTry): boolean;
  fail(code: ErrorCode): void;
  /** Whether the request failed (a transform's bound, say) while the response started. */
  failed(): boolean;
  /** Ends the request's part in `attempt`, whose response is thrown away unread. */
  release(attempt: UpstreamTry): void;
  /** The response body on its way through plugins' transforms. */
  transformed: TransformedResponse | undefined;
  transformFailed(error: Error, where: string): void;
  /** The transformed body was written whole. */
  transformedDone(): void;
}

/**
 * Runs the onResponse hooks on a try's response head, then starts it. False while an
 * asynchronous hook holds the response (the try stays held until it settles), or when a
 * hook replaced it.
 */
export function startResponse(
  owner: ResponseStartOwner,
  attempt: UpstreamTry,
  status: number,
  statusText: string,
  headers: string[],
): boolean {
  const { ctx, chain } = owner.request;
  if (ctx && chain && chain.response.length > 0) {
    const view: ResponseView = { status, headers };
    let pending: Promise<void> | undefined;
    try {
      pending = runResponseHooks(chain, ctx, view);
    } catch (error) {
      hookFailed(owner, error);
      return true;
    }
    if (pending) {
      pending.then(
        () => afterHooks(owner, attempt, view.status, reasonOf(view, status, statusText), headers),
        (error: unknown) => hookFailed(owner, error),
      );
      return false;
    }
    if (ctx.answer) {
      replaceResponse(owner, attempt);
      return false;
    }
    writeOrTransform(owner, attempt, view.status, reasonOf(view, status, statusText), headers);
    return true;
  }
  writeOrTransform(owner, attempt, status, statusText, headers);
  return true;
}

/** The reason phrase to send: the upstream's, unless a hook changed the status. */
function reasonOf(view: ResponseView, status: number, statusText: string): string {
  return view.status === status ? statusText : (STATUS_CODES[view.status] ?? "");
}

/** An asynchronous onResponse hook settled: send the held response, or its replacement. */
function afterHooks(
  owner: ResponseStartOwner,
  attempt: UpstreamTry,
  status: number,
  statusText: string,
  headers: string[],
): void {
  // Timed out, or the client went away, while the hook waited.
  if (!owner.answering(attempt) || owner.request.res.headersSent) return;
  if (owner.request.ctx!.answer) {
    replaceResponse(owner, attempt);
    return;
  }
  writeOrTransform(owner, attempt, status, statusText, headers);
  if (!owner.failed()) attempt.commit();
}

/**
 * A plugin's bug, not the upstream's fault: 500, the target is not blamed, and no other
 * try is made (it would meet the same bug).
 */
function hookFailed(owner: ResponseStartOwner, error: unknown): void {
  const { log, requestId } = owner.request;
  log.error({ err: error, requestId, hook: "onResponse" }, "plugin hook failed");
  owner.fail("GATEHOUSE_INTERNAL");
}

/** Writes the head now, or (when plugins transform the body) with the first transformed bytes. */
function writeOrTransform(
  owner: ResponseStartOwner,
  attempt: UpstreamTry,
  status: number,
  statusText: string,
  headers: string[],
): void {
  const { ctx, res, method } = owner.request;
  const transforms = ctx && runnerState.responseBody(ctx);
  // A response that has no body (to HEAD, a 204 or a 304) has nothing to transform.
  if (!transforms || method === "HEAD" || status === 204 || status === 304) {
    writeHead(owner, attempt, status, statusText, headers);
    return;
  }
  const at = headers.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === "content-length");
  if (at !== -1 && Number(headers[at + 1]) > transforms.maxSize) {
    owner.fail("GATEHOUSE_RESPONSE_TOO_LARGE");
    return;
  }
  setHeader(headers, "content-length", undefined);
  owner.transformed = new TransformedResponse(res, transforms, {
    sendHead: () => writeHead(owner, attempt, status, statusText, headers),
    tooLarge: () => owner.fail("GATEHOUSE_RESPONSE_TOO_LARGE"),
    failed: (error) => owner.transformFailed(error, "transformResponseBody"),
    done: () => owner.transformedDone(),
  });
}

/**
 * The upstream failed before a response started: a plugin's onUpstreamFailure hook may
 * answer instead of the gateway's error (a cache's stale copy). True when one did, and its
 * answer is on its way.
 */
export function answerUpstreamFailure(request: ForwardRequest, code: ErrorCode): boolean {
  const { ctx, chain, res, req, requestId, log } = request;
  if (!ctx || !chain?.failure) return false;
  try {
    if (!runFailureHooks(chain, ctx, code)) return false;
  } catch (error) {
    log.error({ err: error, requestId, hook: "onUpstreamFailure" }, "plugin hook failed");
    return false;
  }
  const decorate =
    chain.response.length > 0
      ? (status: number, headers: string[]) => runResponseHooks(chain, ctx, { status, headers })
      : undefined;
  const unread = hasUnreadBody(req);
  sendAnswer(res, requestId, ctx.answer!, unread || request.closeConnection(), decorate)?.catch(
    (error: unknown) => res.destroy(error as Error),
  );
  if (unread) res.closeAfterAnswer();
  return true;
}

/**
 * A plugin answered in onResponse: its answer replaces the try's response, and the
 * onResponse hooks after the one that answered add their headers (CORS, say) to it.
 */
function replaceResponse(owner: ResponseStartOwner, attempt: UpstreamTry): void {
  const { res, req, requestId, ctx, chain, log } = owner.request;
  owner.release(attempt);
  const from = runnerState.resumeAt(ctx!);
  const decorate =
    from < chain!.response.length
      ? (status: number, headers: string[]) =>
          runResponseHooks(chain!, ctx!, { status, headers }, from)
      : undefined;
  const unread = hasUnreadBody(req);
  // The try is released: a hook that fails now is answered here, not by the owner.
  const failed = (error: unknown) => {
    log.error({ err: error, requestId, hook: "onResponse" }, "plugin hook failed");
    sendError(res, "GATEHOUSE_INTERNAL", requestId, { close: true });
  };
  try {
    sendAnswer(
      res,
      requestId,
      ctx!.answer!,
      unread || owner.request.closeConnection(),
      decorate,
    )?.catch(failed);
  } catch (error) {
    failed(error);
  }
  // An unread request body would be taken for the next request on this connection.
  if (unread) res.closeAfterAnswer();
}

function writeHead(
  owner: ResponseStartOwner,
  attempt: UpstreamTry,
  status: number,
  statusText: string,
  headers: string[],
): void {
  const { res } = owner.request;
  if (res.varyOn !== "") addVary(headers, res.varyOn);
  try {
    res.writeHead(status, statusText, headers);
  } catch {
    // A header value Node refuses to send (e.g. a character invalid in HTTP).
    attempt.abort("GATEHOUSE_UPSTREAM_BAD_RESPONSE");
  }
}
