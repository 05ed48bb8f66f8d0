/**
 * @module test/helpers/redis-server
 * A real redis-server for tests, on a free loopback port (never the machine's own on
 * 6379), keeping nothing on disk. Tests may kill it, pause it (SIGSTOP: a hung Redis)
 * and bring it back on the same port.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { Socket } from "node:net";
import { exited, freePort } from "./child-process.ts";

export interface RedisServer {
  url: string;
  port: number;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing answers. */
  pause(): void;
  /** Unfreezes a paused server. */
  resume(): void;
  /** Starts it again on the same port (empty: nothing was saved). */
  restart(): Promise<void>;
}

const startTimeoutMs = 10_000;

/** Fails (never skips) when redis-server (and redis-cli, its companion) is not installed. */
export function requireRedisServer(): void {
  for (const binary of ["redis-server", "redis-cli"]) {
    if (spawnSync("sh", ["-c", `command -v ${binary}`]).status !== 0) {
      throw new Error(`${binary} not found: install it with \`apt-get install -y redis-server\``);
    }
  }
}

/** Starts redis-server; fails (never skips) when it is not installed. */
export async function startRedisServer(): Promise<RedisServer> {
  requireRedisServer();
  const port = await freePort();
  let child = await launch(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      await exited(child);
    },
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    pause() {
      child.kill("SIGSTOP");
    },
    resume() {
      child.kill("SIGCONT");
    },
    async restart() {
      child = await launch(port);
    },
  };
}

/**
 * Starts `redis-server [leading] --port PORT ... [extra]` and resolves once it answers PING
 * (`leading`: a config file, which must come first; `extra`: e.g. `--sentinel`).
 */
export async function launch(
  port: number,
  extra: readonly string[] = [],
  leading: readonly string[] = [],
): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    [
      ...leading,
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + startTimeoutMs;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}

/** Whether a server on `port` answers PING (with +PONG, or -NOAUTH when it has a password). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    // A server with a password answers -NOAUTH: it is up all the same.
    socket.once("data", (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
    socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
  });
}
