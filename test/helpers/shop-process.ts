/**
 * @module test/helpers/shop-process
 * Runs the demo shop as a user does: a shell command line (`npm run shop`, with whatever
 * variables the line sets) in a process group of its own, every port moved to a free one and
 * the PGlite data in a scratch folder; resolves once the launcher prints `ready`, and stops
 * it with SIGINT, as Ctrl-C in a terminal does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exited } from "./child-process.ts";

/** The repository's root folder. */
export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Every port the shop opens, by the variable that moves it. */
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
] as const;

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

/** A running shop. */
export interface ShopProcess {
  /** The gateway, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The port each variable was given. */
  ports: Record<(typeof portVariables)[number], number>;
  /** The environment the command ran with: a shell line run with it talks to this shop. */
  env: NodeJS.ProcessEnv;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /**
   * Ctrl-C: SIGINT to the process group (the shell, npm and the launcher, as a terminal
   * sends it), then waits until every process of the group has ended (SIGKILL after
   * `timeoutMs`). Resolves with whether it stopped in time and said `[shop] stopped`, and
   * the command's exit code.
   */
  stop(timeoutMs?: number): Promise<{ clean: boolean; output: string; code: number | null }>;
}

/** How long the shop may take to print `ready` on a slow, shared machine. */
const readyTimeoutMs = 90_000;

/**
 * Runs `command` (e.g. `npm run shop`) with `sh -c` from the repository's root, with free
 * ports and a scratch data folder, plus `env`; resolves once it is ready, rejects with its
 * output when it exits or is not ready in time.
 */
export async function startShop(
  command = "npm run shop",
  env: NodeJS.ProcessEnv = {},
): Promise<ShopProcess> {
  const taken = new Set<number>();
  const ports = {} as ShopProcess["ports"];
  for (const name of portVariables) ports[name] = await freeFixedPort(taken);
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-shop-"));
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    // The shell finds Node 24 (this one) as `node`, and npm runs this checkout's scripts.
    PATH: [
      dirname(process.execPath),
      join(repositoryRoot, "node_modules/.bin"),
      process.env.PATH,
    ].join(delimiter),
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, String(port)])),
    SHOP_DATA_DIR: dataDir,
    // Nothing listens there: spans are dropped, and the shop must not mind.
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freeFixedPort(taken)}`,
    GATEHOUSE_ACCESS_LOG: join(dataDir, "access.log"),
    SHOP_READY_TIMEOUT_MS: String(readyTimeoutMs - 5_000),
    ...env,
  };
  const child: ChildProcess = spawn("sh", ["-c", command], {
    cwd: repositoryRoot,
    env: fullEnv,
    detached: true, // a group of its own, as a terminal's job: Ctrl-C reaches all of it
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is gone already.
    }
  };
  const gone = exited(child);
  const groupAlive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };

  const deadline = Date.now() + readyTimeoutMs;
  while (!/\[shop\] ready/.test(output)) {
    const failed = child.exitCode !== null || child.signalCode !== null;
    if (failed || Date.now() > deadline) {
      group("SIGKILL");
      await gone;
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(
        `\`${command}\` ${failed ? `exited (${child.exitCode ?? child.signalCode})` : `was not ready in ${readyTimeoutMs} ms`}:\n${output.slice(-6_000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    url: `http://127.0.0.1:${ports.GATEHOUSE_PORT}`,
    ports,
    env: fullEnv,
    output: () => output,
    async stop(timeoutMs = 30_000) {
      group("SIGINT");
      // The shell may end at once; the launcher goes on stopping the services, so the
      // whole group is waited for, not the shell.
      const deadline = Date.now() + timeoutMs;
      while (groupAlive() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const inTime = !groupAlive();
      group("SIGKILL");
      await gone;
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      // The shell's (npm's, the launcher's) exit code; null when it had to be killed.
      return { clean: inTime && /\[shop\] stopped/.test(output), output, code: child.exitCode };
    },
  };
}
