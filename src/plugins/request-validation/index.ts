/**
 * @module plugins/request-validation
 * Checks requests against an OpenAPI 3.0 or 3.1 document before they reach the upstream:
 * the operation by method and path, its path, query, header and cookie parameters, and a
 * JSON body (read whole, bounded, and sent on unchanged). `enforce` answers 400
 * `GATEHOUSE_REQUEST_INVALID` listing every problem; `report` logs and counts them and
 * passes the request. Upstream responses may be checked too, only ever reported. The
 * document is read, its `$ref`s resolved and its schemas compiled when the config loads.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import { definePlugin, type PluginHooks, type PluginScope } from "../../pipeline/plugin.ts";
import { createStateKey } from "../../pipeline/request-state.ts";
import { BodyCopy, ReplayedBody, readRequestBody } from "./body-reader.ts";
import { openApiFragment } from "./fragment.ts";
import { type LoadedSpec, loadSpec, specFiles } from "./load-spec.ts";
import { checkJson, checkParameters, planBody } from "./request-check.ts";
import { validateResponse } from "./response-check.ts";
import { type RequestValidationConfig, requestValidationSchema } from "./schema.ts";
import { SpecError } from "./spec-files.ts";
import type { CompiledOperation, Problem } from "./validators.ts";

/** The operation a request matched, for its response's check. */
const operationKey = createStateKey<CompiledOperation>("request-validation.operation");

function requestHooks(config: RequestValidationConfig, scope: PluginScope, { router }: LoadedSpec) {
  const { mode, maxBodySize } = config;
  const { telemetry, log } = scope;

  function report(ctx: RequestContext, problems: Problem[]): void {
    telemetry.requestValidation(ctx, mode, problems.length === 0 ? "valid" : "invalid");
    if (problems.length === 0) return;
    const fields = { requestId: ctx.requestId, method: ctx.method, path: ctx.path, problems };
    if (mode === "report") log.warn(fields, "request does not match the OpenAPI document");
  }

  /** Counts and answers (enforce) or logs (report) the problems found; true when refused. */
  function refused(ctx: RequestContext, problems: Problem[]): boolean {
    report(ctx, problems);
    if (problems.length === 0 || mode === "report") return false;
    ctx.fail("GATEHOUSE_REQUEST_INVALID", undefined, {}, { problems });
    return true;
  }

  function unknown(ctx: RequestContext, allowed?: string[]): void {
    telemetry.requestValidation(ctx, mode, "unknown");
    if (config.unknownOperations === "pass") return;
    if (mode === "report") {
      log.warn(
        { requestId: ctx.requestId, method: ctx.method, path: ctx.path },
        "no operation in the OpenAPI document",
      );
      return;
    }
    if (allowed) {
      const message = "The route's OpenAPI document has no operation for this method on this path";
      ctx.fail("GATEHOUSE_METHOD_NOT_ALLOWED", message, { allow: allowed.join(", ") });
    } else
      ctx.fail(
        "GATEHOUSE_ROUTE_NOT_FOUND",
        "The route's OpenAPI document has no operation for this path",
      );
  }

  async function readAndCheck(
    ctx: RequestContext,
    problems: Problem[],
    check: (body: Buffer) => Problem[],
  ) {
    const length = ctx.headers["content-length"];
    if (length !== undefined && Number(length) > maxBodySize) {
      ctx.fail("GATEHOUSE_BODY_TOO_LARGE");
      return;
    }
    const read = await readRequestBody(ctx.req, maxBodySize);
    if (read.kind === "gone") return;
    if (read.kind === "too-large") {
      ctx.fail("GATEHOUSE_BODY_TOO_LARGE");
      return;
    }
    problems.push(...check(read.body));
    if (refused(ctx, problems)) return;
    ctx.transformRequestBody(new ReplayedBody(read.body), { maxSize: Number.MAX_SAFE_INTEGER });
  }

  return {
    access(ctx: RequestContext): void | Promise<void> {
      const found = router.match(ctx.method, ctx.path);
      if (found.kind !== "operation") {
        unknown(ctx, found.kind === "method-not-allowed" ? found.allowed : undefined);
        return;
      }
      const { operation } = found;
      ctx.set(operationKey, operation);
      const problems = checkParameters(operation, found.pathParams, ctx.query, ctx.headers);
      const plan = planBody(operation, ctx.headers, problems);
      if (!plan.read) {
        refused(ctx, problems);
        return;
      }
      const check = (body: Buffer) => checkJson(plan.media, body, "body");
      if (mode === "enforce") return readAndCheck(ctx, problems, check);
      // Report: the body streams on as it comes; a copy is checked once it ended.
      const copy = new BodyCopy(maxBodySize, (body) => {
        if (body) problems.push(...check(body));
        report(ctx, problems);
      });
      ctx.transformRequestBody(copy, { maxSize: Number.MAX_SAFE_INTEGER });
    },
  };
}

export const requestValidationPlugin = definePlugin({
  name: "request-validation",
  schema: requestValidationSchema,
  // After authentication (1000), acl and limits (900+): a refused or throttled client
  // spends no parsing and learns nothing of the API's shape.
  priority: 800,
  check(config, { baseDir }) {
    try {
      loadSpec(config, baseDir);
      return [];
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      const { file, line, col, message } = error.problem;
      if (line !== undefined) return [{ message, at: { file, line, col: col ?? 1 } }];
      return [{ message: `${file}: ${message}`, path: ["spec"] }];
    }
  },
  files(config, { baseDir }) {
    return specFiles(config, baseDir);
  },
  create(config, scope): PluginHooks {
    const spec = loadSpec(config, scope.baseDir);
    const hooks: PluginHooks = {
      access: requestHooks(config, scope, spec).access,
      describe: () => ({
        operations: spec.operations.length,
        openapi: spec.version,
        mode: config.mode,
      }),
      openapi: () => openApiFragment(spec, config.basePath ?? ""),
    };
    if (config.validateResponses) {
      const limit = config.maxBodySize;
      hooks.onResponse = (ctx, response) => {
        const operation = ctx.get(operationKey);
        if (operation) validateResponse(ctx, response, operation, limit, scope);
      };
    }
    return hooks;
  },
});
