/**
 * @module admin/config-check-api
 * What a config editor needs before it saves: `GET /caller` (who the key is, read-only or
 * not), `GET /schema`, the config's JSON Schema (what
 * `gatehouse schema` prints), and `POST /config/validate`, a dry run of a whole config (the
 * body `PUT /config` takes, JSON or YAML): every problem with its path, line and column in
 * the body, and the diff against the serving config. Nothing is applied, no version made,
 * nothing audited: read-only keys may call it.
 */
import { LineCounter, parseDocument } from "yaml";
import { diffConfigs } from "../config/diff.ts";
import type { ConfigDocument } from "../config/document.ts";
import { configJsonSchema } from "../config/json-schema.ts";
import { nodeAt } from "../config/load.ts";
import { redactConfig, restoreRedacted } from "../config/redact-config.ts";
import { pathLabel } from "../config/semantics.ts";
import { GatehouseError } from "../errors.ts";
import { replacementOf } from "./config-api.ts";
import type { AdminContext, AdminRoute } from "./context.ts";
import { isYamlType, parseBody, sendJson } from "./http.ts";

/** One thing wrong with the config sent, located in the body as sent (1-based). */
export interface ValidationProblem {
  /** `routes[0].service`; "" for the body as a whole (a syntax error). */
  path: string;
  message: string;
  line: number;
  column: number;
}

let schema: Record<string, unknown> | undefined;

export function configCheckRoutes(): AdminRoute[] {
  return [
    {
      method: "GET",
      path: "/caller",
      handle: (ctx) => sendJson(ctx.res, 200, ctx.caller),
    },
    {
      method: "GET",
      path: "/schema",
      handle: (ctx) => {
        schema ??= configJsonSchema();
        sendJson(ctx.res, 200, schema);
      },
    },
    { method: "POST", path: "/config/validate", handle: validate, changesNothing: true },
  ];
}

async function validate(ctx: AdminContext): Promise<void> {
  const text = await ctx.text();
  const yaml = isYamlType(ctx.req.headers["content-type"]);
  const lines = new LineCounter();
  const tree = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  let body: unknown;
  try {
    body = parseBody(text, yaml);
  } catch (error) {
    // Too deep or empty stays a refusal; a body that does not parse is the dry run's answer.
    if (!(error instanceof GatehouseError) || error.code !== "GATEHOUSE_ADMIN_BAD_REQUEST")
      throw error;
    if (text.trim() === "") throw error;
    const at = syntaxPosition(error, yaml, tree, text, lines);
    // V8 quotes the body after the reason; the place is given separately.
    const message = error.message
      .replace(/^the body is not (JSON|YAML): /, "")
      .replace(/, "[\s\S]*$/, "")
      .split("\n")[0];
    sendJson(ctx.res, 200, {
      valid: false,
      problems: [{ path: "", message: `${yaml ? "YAML" : "JSON"} syntax: ${message}`, ...at }],
      diff: null,
    });
    return;
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new GatehouseError("GATEHOUSE_ADMIN_BAD_REQUEST", "the config is an object");
  const current = ctx.control.history.current;
  const next = restoreRedacted(
    replacementOf(current.document, body as ConfigDocument),
    current.document,
  );
  const problems: ValidationProblem[] = ctx.control.problemsOf(next).map((problem) => {
    const node = nodeAt(tree.contents, problem.path ?? [], problem.key);
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    const path = problem.path ? pathLabel(problem.path) : "";
    const prefix = `${path}: `;
    const message = problem.message.startsWith(prefix)
      ? problem.message.slice(prefix.length)
      : problem.message;
    return { path, message, line, column: col };
  });
  const diff = diffConfigs(current.document, next, { redact: redactConfig });
  sendJson(ctx.res, 200, {
    valid: problems.length === 0,
    problems,
    diff: { from: current.version, ...diff },
  });
}

/** Where a body that does not parse goes wrong: the YAML parser's place, or JSON.parse's. */
function syntaxPosition(
  error: Error,
  yaml: boolean,
  tree: ReturnType<typeof parseDocument>,
  text: string,
  lines: LineCounter,
): { line: number; column: number } {
  // JSON is YAML: the YAML parser places most JSON mistakes too, where V8's message may not.
  const first = tree.errors[0];
  if (first && (yaml || !/line \d+ column \d+/.test(error.message))) {
    const { line, col } = lines.linePos(first.pos[0]);
    return { line, column: col };
  }
  const named = /line (\d+),? column (\d+)/.exec(error.message);
  if (named) return { line: Number(named[1]), column: Number(named[2]) };
  const offset = /position (\d+)/.exec(error.message);
  if (offset) {
    const { line, col } = lines.linePos(Math.min(Number(offset[1]), text.length));
    return { line, column: col };
  }
  return { line: 1, column: 1 };
}
