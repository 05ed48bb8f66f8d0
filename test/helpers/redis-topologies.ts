/**
 * @module test/helpers/redis-topologies
 * Real Redis deployments beyond one server, for tests: a master, a replica and a
 * Sentinel watching them (which tests fail over by killing the master), and a 3-master
 * Redis Cluster. Every process runs on free loopback ports with its files in a
 * temporary directory, and `stop` removes both.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort, launch, requireRedisServer } from "./redis-server.ts";

const run = promisify(execFile);

export interface RedisSentinelSetup {
  /** The master group name the Sentinel monitors. */
  name: string;
  /** `redis://127.0.0.1:PORT` of the Sentinel. */
  sentinels: string[];
  masterPort: number;
  replicaPort: number;
  /** Kills the master (SIGKILL) and resolves once the Sentinel has promoted the replica. */
  failOver(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterSetup {
  /** `redis://127.0.0.1:PORT` of each master. */
  nodes: string[];
  stop(): Promise<void>;
}

const masterName = "gatehouse-test";

/**
 * A master, one replica and one Sentinel (quorum 1). The Sentinel calls the master down
 * after 500 ms without an answer, so a failover takes a second or two, not the 30 s default.
 */
export async function startRedisSentinel(): Promise<RedisSentinelSetup> {
  requireRedisServer();
  const dir = await mkdtemp(join(tmpdir(), "gatehouse-sentinel-"));
  const [masterPort, replicaPort, sentinelPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const children: ChildProcess[] = [];
  try {
    // A replica's first sync writes the master's snapshot to disk: into `dir`, not the cwd.
    const inDir = ["--dir", dir];
    children.push(await launch(masterPort, inDir));
    children.push(
      await launch(replicaPort, [...inDir, "--replicaof", "127.0.0.1", String(masterPort)]),
    );
    await until("the replica to sync", () => info(replicaPort, "master_link_status:up"));
    // A Sentinel rewrites its config file, so it needs one of its own on disk.
    const config = join(dir, "sentinel.conf");
    await writeFile(
      config,
      [
        `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${masterName} 500`,
        `sentinel failover-timeout ${masterName} 2000`,
        "",
      ].join("\n"),
    );
    children.push(await launch(sentinelPort, ["--sentinel"], [config]));
    await until("the Sentinel to see the replica", async () => {
      const replicas = (await command(sentinelPort, [
        "SENTINEL",
        "REPLICAS",
        masterName,
      ])) as unknown[];
      return replicas.length === 1;
    });
  } catch (error) {
    await stopAll(children, dir);
    throw error;
  }
  return {
    name: masterName,
    sentinels: [`redis://127.0.0.1:${sentinelPort}`],
    masterPort,
    replicaPort,
    async failOver(timeoutMs) {
      const master = children[0]!;
      master.kill("SIGKILL");
      await exited(master);
      await until(
        "the Sentinel to promote the replica",
        async () => {
          const address = (await command(sentinelPort, [
            "SENTINEL",
            "GET-MASTER-ADDR-BY-NAME",
            masterName,
          ])) as string[];
          return address[1] === String(replicaPort) && (await info(replicaPort, "role:master"));
        },
        timeoutMs,
      );
    },
    stop: () => stopAll(children, dir),
  };
}

/** Three masters sharing the 16384 slots, created with `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisClusterSetup> {
  requireRedisServer();
  const dir = await mkdtemp(join(tmpdir(), "gatehouse-cluster-"));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // The bus port is given, not left at port + 10000, which may be taken or out of range.
      const busPort = await freePort();
      ports.push(port);
      children.push(
        await launch(port, [
          "--dir",
          dir,
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(busPort),
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "2000",
        ]),
      );
    }
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-yes"], {
      timeout: 20_000,
    });
    for (const port of ports) {
      await until(`node ${port} to see the cluster ok`, async () => {
        const state = (await command(port, ["CLUSTER", "INFO"])) as string;
        return state.includes("cluster_state:ok") && state.includes("cluster_known_nodes:3");
      });
    }
  } catch (error) {
    await stopAll(children, dir);
    throw error;
  }
  return {
    nodes: ports.map((port) => `redis://127.0.0.1:${port}`),
    stop: () => stopAll(children, dir),
  };
}

async function stopAll(children: readonly ChildProcess[], dir: string): Promise<void> {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all(children.map(exited));
  await rm(dir, { recursive: true, force: true });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : once(child, "exit").then(() => {});
}

/** One command on a short-lived connection (no retries), or undefined if it failed. */
async function command(port: number, args: string[]): Promise<unknown> {
  const client = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
    protocol: 2,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function info(port: number, line: string): Promise<boolean> {
  const text = await command(port, ["INFO", "replication"]);
  return typeof text === "string" && text.includes(line);
}

async function until(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
