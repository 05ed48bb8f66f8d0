/**
 * @module test/helpers/etcd-server
 * A real etcd for tests, on free loopback ports (client and peer, never the machine's own
 * 2379), its data in a temporary directory. Tests may kill it and bring it back on the
 * same ports with the same data, as an etcd restarting after a crash would.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exited, freePort } from "./child-process.ts";

/** PEM files for an etcd serving TLS and asking clients for a certificate signed by `ca`. */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
}

export interface EtcdServer {
  /** `http://127.0.0.1:PORT` (`https://` with TLS), for `gateway.configStore.etcd.endpoints`. */
  url: string;
  port: number;
  /** Stops it (SIGTERM) and waits for it to exit; the data stays until `remove`. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing answers. */
  pause(): void;
  /** Unfreezes a paused server. */
  resume(): void;
  /** Starts it again on the same ports with the same data. */
  restart(): Promise<void>;
  /** Stops it and deletes its data directory. */
  remove(): Promise<void>;
}

const startTimeoutMs = 15_000;

/** Starts etcd (with `tls`: clients need a certificate); fails (never skips) when it is not installed. */
export async function startEtcdServer(tls?: EtcdTls): Promise<EtcdServer> {
  if (spawnSync("sh", ["-c", "command -v etcd"]).status !== 0)
    throw new Error("etcd not found: install it with `apt-get install -y etcd-server`");
  const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-etcd-"));
  const port = await freePort();
  const peerPort = await freePort();
  let child = await launch(dataDir, port, peerPort, tls);
  const stop = async () => {
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    await exited(child);
  };
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    stop,
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
      child = await launch(dataDir, port, peerPort, tls);
    },
    async remove() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function launch(
  dataDir: string,
  port: number,
  peerPort: number,
  tls: EtcdTls | undefined,
): Promise<ChildProcess> {
  const client = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    "etcd",
    [
      ["--name", "test"],
      ["--data-dir", dataDir],
      ["--listen-client-urls", client],
      ["--advertise-client-urls", client],
      ["--listen-peer-urls", peer],
      ["--initial-advertise-peer-urls", peer],
      ["--initial-cluster", `test=${peer}`],
      ["--logger", "zap"],
      ["--log-level", "error"],
      ...(tls
        ? [
            ["--cert-file", tls.cert],
            ["--key-file", tls.key],
            ["--trusted-ca-file", tls.ca],
            ["--client-cert-auth"],
          ]
        : []),
    ].flat(),
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const deadline = Date.now() + startTimeoutMs;
  const ready = tls ? () => listening(port) : () => healthy(client);
  while (!(await ready())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`etcd did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return child;
}

/** Whether the etcd at `url` answers its health endpoint with `"health":"true"`. */
async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
    return (await response.text()).includes('"health":"true"');
  } catch {
    return false;
  }
}

/** Whether something accepts connections on `port` (a TLS etcd's health needs a client certificate). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
