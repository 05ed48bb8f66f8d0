/**
 * @module test/helpers/shop-api
 * What the shop's end-to-end tests do through the gateway: REST calls, a new signed-in
 * user, the design documents' curl flow run with bash, and reading what the launcher
 * printed (a child's pid, the JSON values curl printed one after another).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

export interface ApiAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  body: any;
  contentType: string;
}

export interface ApiOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One call to `${base}/api/v1${path}`; the body parsed when it is JSON. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: ApiOptions = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const answer = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await answer.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the text itself.
  }
  return { status: answer.status, body, contentType: answer.headers.get("content-type") ?? "" };
}

/** A new user, registered and signed in: its token and id. */
export async function signedInUser(base: string): Promise<{ token: string; userId: string }> {
  const tag = randomBytes(4).toString("hex");
  const email = `user-${tag}@example.com`;
  const registered = await api(base, "POST", "/users/register", {
    body: {
      email,
      username: `user${tag}`,
      password: "password123",
      full_name: "Shop Test",
      phone: "1234567890",
    },
  });
  if (registered.status !== 201) {
    throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
  }
  const login = await api(base, "POST", "/users/login", {
    body: { email, password: "password123" },
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  return { token: login.body.token, userId: login.body.user_id };
}

/** The pid the launcher printed for a child (`gateway`, `services`, `payments#2`, …). */
export function printedPid(output: string, label: string): number {
  const found = output.match(new RegExp(`\\[shop\\] started ${label} \\(pid (\\d+)\\)`));
  if (!found) throw new Error(`the launcher printed no pid for ${label}`);
  return Number(found[1]);
}

/** Runs `script` with bash (-eu -o pipefail), curl and jq from PATH, to the end. */
export function bash(
  script: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
    cwd: root,
    env: {
      ...process.env,
      PATH: [join(root, "node_modules/.bin"), process.env.PATH].join(delimiter),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON values printed one after another (curl prints no newline after a body). */
export function jsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      if (depth++ === 0) start = i;
    } else if ((char === "}" || char === "]") && --depth === 0) {
      values.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return values;
}
