/**
 * @module test/helpers/shop-process
 * The demo shop started as `npm run shop` starts it (`node examples/shop/start.ts`), on
 * free loopback ports with its data in a temporary folder, plus what its tests do to it:
 * the REST API through the gateway, a signed-in user, the design documents' curl flow
 * run with bash, and Ctrl-C.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exited } from "./child-process.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The port variables start.ts and the services read, each given a free port. */
const portVariables = [
  "GATEHOUSE_PORT",
  "GATEHOUSE_STATUS_PORT",
  "GATEHOUSE_ADMIN_PORT",
  "SHOP_WEB_PORT",
  "USERS_JWKS_PORT",
  "USERS_PORT",
  "PRODUCTS_PORT",
  "ORDERS_PORT",
  "PAYMENTS_PORT",
  "INVENTORY_PORT",
  "PAYMENTS_PORT_2",
  "INVENTORY_PORT_2",
];

/**
 * A free loopback port below the kernel's ephemeral range (32768 and up): the shop's
 * processes bind theirs a while after they are picked, meanwhile opening many outgoing
 * connections, whose local ports come from that range and could take one picked there.
 */
async function freeFixedPort(taken: Set<number>): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error("no free port found between 20000 and 32000");
}

export interface ApiAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  body: any;
  contentType: string;
}

export interface RunningShop {
  /** `http://127.0.0.1:<gateway port>`. */
  url: string;
  env: Record<string, string>;
  child: ChildProcess;
  /** Everything start.ts printed so far (its own lines and its children's). */
  output(): string;
  /** The pid start.ts printed for a child (`gateway`, `services`, `payments#2`, …). */
  pid(label: string): number;
  api(method: string, path: string, options?: ApiOptions): Promise<ApiAnswer>;
  /** SIGINT (Ctrl-C) to start.ts; resolves with how it exited. */
  interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops it if still running, and removes its data. */
  remove(): Promise<void>;
}

export interface ApiOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Starts the shop with `env` on top of free ports; resolves once it says it is ready. */
export async function startShop(
  env: Record<string, string>,
  readyMs = 90_000,
): Promise<RunningShop> {
  const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-shop-"));
  const ports: Record<string, string> = {};
  const taken = new Set<number>();
  for (const name of portVariables) ports[name] = String(await freeFixedPort(taken));
  const fullEnv = {
    ...ports,
    SHOP_DATA_DIR: dataDir,
    GATEHOUSE_ACCESS_LOG: join(dataDir, "access.log"),
    GATEHOUSE_LOG_LEVEL: "warn",
    SHOP_READY_TIMEOUT_MS: String(readyMs),
    ...env,
  };
  const child = spawn(process.execPath, [join(root, "examples/shop/start.ts")], {
    cwd: root,
    env: { ...process.env, ...fullEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${ports.GATEHOUSE_PORT}`;
  const shop: RunningShop = {
    url,
    env: fullEnv,
    child,
    output: () => output,
    pid(label) {
      const escaped = label.replace(/[#]/g, "\\$&");
      const found = output.match(new RegExp(`\\[shop\\] started ${escaped} \\(pid (\\d+)\\)`));
      if (!found) throw new Error(`start.ts printed no pid for ${label}`);
      return Number(found[1]);
    },
    api: (method, path, options = {}) => api(url, method, path, options),
    async interrupt() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      await exited(child);
      return { code: child.exitCode, signal: child.signalCode };
    },
    async remove() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        await exited(child);
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + readyMs + 10_000;
  while (!/\[shop\] ready in/.test(output)) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await shop.remove();
      throw new Error(`the shop did not become ready:\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return shop;
}

async function api(
  base: string,
  method: string,
  path: string,
  options: ApiOptions,
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
  const contentType = answer.headers.get("content-type") ?? "";
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: answer.status, body, contentType };
}

/** A new user, registered and signed in: its token and id. */
export async function signedInUser(shop: RunningShop): Promise<{ token: string; userId: string }> {
  const tag = randomBytes(4).toString("hex");
  const email = `user-${tag}@example.com`;
  const registered = await shop.api("POST", "/users/register", {
    body: {
      email,
      username: `user${tag}`,
      password: "password123",
      full_name: "Shop Test",
      phone: "1234567890",
    },
  });
  if (registered.status !== 201)
    throw new Error(`register: ${registered.status} ${JSON.stringify(registered.body)}`);
  const login = await shop.api("POST", "/users/login", {
    body: { email, password: "password123" },
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  return { token: login.body.token, userId: login.body.user_id };
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
