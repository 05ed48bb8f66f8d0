/**
 * @module test/helpers/nats-server
 * A real NATS server with JetStream for tests, on a free loopback port, its JetStream store
 * in a temporary directory. Tests may kill it and bring it back on the same port with the
 * same data, as a NATS server restarting after a crash would, or without it, as one that
 * lost its store.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, freePort } from "./child-process.ts";

export interface NatsServer {
  /** `nats://127.0.0.1:PORT`, for `events.connect()`. */
  url: string;
  port: number;
  /** Stops it (SIGTERM) and waits for it to exit; the data stays until `remove`. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops it, deletes its data and starts it again on the same port: a server that lost its store. */
  restartEmpty(): Promise<void>;
  /** Stops it and deletes its data directory. */
  remove(): Promise<void>;
}

const startTimeoutMs = 15_000;

/** Starts `nats-server -js`; fails (never skips) when it is not installed. */
export async function startNatsServer(): Promise<NatsServer> {
  if (spawnSync("sh", ["-c", "command -v nats-server"]).status !== 0)
    throw new Error("nats-server not found: install it with `apt-get install -y nats-server`");
  const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-nats-"));
  const port = await freePort();
  const monitorPort = await freePort();
  let child = await launch(dataDir, port, monitorPort);
  const stop = async () => {
    child.kill("SIGTERM");
    await exited(child);
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    async restart() {
      child = await launch(dataDir, port, monitorPort);
    },
    async restartEmpty() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
      await mkdir(dataDir);
      child = await launch(dataDir, port, monitorPort);
    },
    async remove() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function launch(dataDir: string, port: number, monitorPort: number): Promise<ChildProcess> {
  const child = spawn(
    "nats-server",
    ["-js", "-sd", dataDir, "-a", "127.0.0.1", "-p", String(port), "-m", String(monitorPort)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const deadline = Date.now() + startTimeoutMs;
  while (!(await jetStreamReady(monitorPort))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return child;
}

/** Whether the server's monitoring endpoint says it is up with JetStream on. */
async function jetStreamReady(monitorPort: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled=true`, {
      signal: AbortSignal.timeout(500),
    });
    await response.text();
    return response.ok;
  } catch {
    return false;
  }
}
