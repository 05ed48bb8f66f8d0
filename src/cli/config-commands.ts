/**
 * @module cli/config-commands
 * `gatehouse config diff|versions|rollback`: compare two config files as written, and list
 * or roll back the config versions a running gateway keeps, through its admin API.
 */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { isMap, LineCounter, parseDocument } from "yaml";
import { type ConfigDocument, diffConfigs, formatDiff } from "../config/diff.ts";
import { ConfigError, type ConfigProblem, formatProblem } from "../config/load.ts";
import { redactConfig } from "../config/redact-config.ts";

/** Adds `gatehouse config ...` to the program. */
export function registerConfigCommands(program: Command): void {
  const config = program
    .command("config")
    .description("compare config files; list and roll back a running gateway's config versions");

  config
    .command("diff")
    .description(
      "show what changed from config file A to B, per resource; exit 0 if none, 1 if some, 2 on error",
    )
    .argument("<a>", "the config before (YAML or JSON)")
    .argument("<b>", "the config after")
    .option("--json", "print the diff as JSON")
    // Like diff(1): 1 means "they differ", so a usage error must not be 1 as well.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (a: string, b: string, options: { json?: boolean }) => {
      let before: ConfigDocument;
      let after: ConfigDocument;
      try {
        [before, after] = await Promise.all([readDocument(a), readDocument(b)]);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const problem of error.problems) console.error(formatProblem(problem));
        process.exit(2);
      }
      // References stay as written (never resolved) and literal secrets are blanked, so the
      // output can go in a ticket or a CI log; a changed secret still shows as changed.
      const diff = diffConfigs(before, after, { redact: redactConfig });
      console.log(options.json ? JSON.stringify(diff, null, 2) : formatDiff(diff));
      process.exitCode = diff.resources.length + diff.gateway.length > 0 ? 1 : 0;
    });

  const adminOptions = (command: Command) =>
    command
      .requiredOption("--admin <url>", "the gateway's admin API, e.g. http://127.0.0.1:9902")
      .option("--key <key>", "admin key, sent as a bearer token; default GATEHOUSE_ADMIN_KEY");

  adminOptions(
    config.command("versions").description("list the config versions a running gateway keeps"),
  ).action(async (options: AdminOptions) => {
    const body = (await callAdmin(options, "GET", "/config/versions")) as VersionList;
    console.log(versionTable(body));
  });

  adminOptions(
    config
      .command("rollback")
      .description("make a running gateway serve a kept config version again (as a new version)")
      .argument("<version>", "the version to roll back to"),
  ).action(async (version: string, options: AdminOptions) => {
    if (!/^[1-9]\d*$/.test(version))
      fail(`the version must be a positive whole number, not "${version}"`);
    const body = (await callAdmin(options, "POST", `/config/rollback/${version}`)) as Rollback;
    const same = body.result === "unchanged" ? " (no change: that config was serving already)" : "";
    console.log(
      `rolled back to version ${body.rolledBackTo}: now serving version ${body.version} (hash ${body.hash})${same}`,
    );
  });
}

/** A config file as written: its YAML or JSON as plain data, nothing resolved or defaulted. */
async function readDocument(file: string): Promise<ConfigDocument> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason =
      code === "ENOENT"
        ? "config file not found"
        : code === "EISDIR"
          ? "is a directory, not a config file"
          : `cannot read config file: ${message}`;
    throw located(file, 1, 1, reason);
  }
  const lines = new LineCounter();
  const document = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const first = document.errors[0];
  if (first) {
    const { line, col } = lines.linePos(first.pos[0]);
    throw located(file, line, col, `YAML syntax: ${first.message.split("\n")[0]}`);
  }
  if (document.contents !== null && !isMap(document.contents)) {
    const { line, col } = lines.linePos(document.contents.range?.[0] ?? 0);
    throw located(
      file,
      line,
      col,
      "a config is a map (gateway, services, routes, consumers, plugins)",
    );
  }
  const data = (document.toJS() ?? {}) as Record<string, unknown>;
  for (const key of ["services", "routes", "consumers", "plugins"]) {
    const value = data[key];
    if (value === undefined || value === null || Array.isArray(value)) continue;
    const node = document.get(key, true) as { range?: [number, number, number] } | undefined;
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    throw located(file, line, col, `${key}: must be a list`);
  }
  return data as ConfigDocument;
}

function located(file: string, line: number, col: number, message: string): ConfigError {
  const problem: ConfigProblem = { file, line, col, message };
  return new ConfigError([problem]);
}

interface AdminOptions {
  admin: string;
  key?: string;
}

interface VersionList {
  current: number;
  versions: { version: number; hash: string; appliedAt: string; source: string; actor?: string }[];
}

interface Rollback {
  version: number;
  hash: string;
  rolledBackTo: number;
  /** `unchanged` when the config rolled back to is the one serving: no new version. */
  result?: "applied" | "unchanged";
}

/** Calls the admin API and returns its JSON; exits with a message on any failure. */
async function callAdmin(options: AdminOptions, method: string, path: string): Promise<unknown> {
  const base = options.admin.replace(/\/+$/, "");
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol))
    fail(`--admin must be an http(s) URL such as http://127.0.0.1:9902, not "${options.admin}"`);
  const key = options.key ?? process.env.GATEHOUSE_ADMIN_KEY;
  const url = `${base}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { accept: "application/json", ...(key && { authorization: `Bearer ${key}` }) },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    fail(`cannot reach the admin API at ${base}: ${reachFailure(error)}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    fail(
      `${method} ${url} answered ${response.status} with something that is not the admin API's JSON`,
    );
  }
  if (!response.ok) {
    const error = (body as { error?: ErrorBody }).error;
    if (!error) fail(`${method} ${url} answered ${response.status}`);
    console.error(`gatehouse: ${error.message} (${error.code})`);
    for (const problem of error.problems ?? []) console.error(`  ${formatAdminProblem(problem)}`);
    process.exit(1);
  }
  return body;
}

/** The `error` of an error answer, as src/errors.ts writes it. */
interface ErrorBody {
  code: string;
  message: string;
  requestId?: string;
  problems?: unknown[];
}

/** A problem as the admin API reports it: a line of text, or a located one. */
function formatAdminProblem(problem: unknown): string {
  if (typeof problem === "string") return problem;
  const p = problem as Partial<ConfigProblem> & { path?: string };
  if (typeof p.message !== "string") return JSON.stringify(problem);
  if (p.file !== undefined) return formatProblem(p as ConfigProblem);
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/** Why fetch could not get an answer, in words: refused, unknown host, timed out. */
function reachFailure(error: unknown): string {
  if ((error as Error).name === "TimeoutError") return "no answer within 10 seconds";
  const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
  if (cause?.code === "ECONNREFUSED")
    return "connection refused (is the gateway running with gateway.admin set?)";
  if (cause?.code === "ENOTFOUND") return "host not found";
  return cause?.message ?? (error as Error).message;
}

/** The versions, newest first, the one serving marked `*`. */
function versionTable({ current, versions }: VersionList): string {
  const rows = [
    ["", "VERSION", "APPLIED AT", "SOURCE", "ACTOR", "HASH"],
    ...versions.map((v) => [
      v.version === current ? "*" : "",
      String(v.version),
      v.appliedAt,
      v.source,
      v.actor ?? "-",
      v.hash,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function fail(message: string): never {
  console.error(`gatehouse: ${message}`);
  process.exit(1);
}
