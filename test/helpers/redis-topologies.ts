/**
 * @module test/helpers/redis-topologies
 * Real Redis deployments beyond one server, for tests: a master, a replica and a
 * Sentinel watching them (which tests fail over by killing the master), and a 3-master
 * Redis Cluster. Every process runs on free loopback ports with its files in a
 * temporary directory, and `stop` removes both. The data nodes want a password
 * (`redisPassword`), and so does the Sentinel (`sentinelPassword`), as in production.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./child-process.ts";
import { launch, requireRedisServer } from "./redis-server.ts";

const run = promisify(execFile);

/** The password of every master and replica (requirepass, masterauth). */
export const redisPassword = "data-nodes-password";
/** The Sentinel's own password (its requirepass). */
export const sentinelPassword = "sentinel-password";
const auth = ["--requirepass", redisPassword, "--masterauth", redisPassword];

export interface RedisSentinelSetup {
  /** The master group name the Sentinel monitors. */
  name: string;
  /** `redis://:SENTINEL_PASSWORD@127.0.0.1:PORT` of the Sentinel. */
  sentinels: string[];
  /**
   * `SENTINEL FAILOVER`: the replica becomes master and the old master, still up and with
   * its clients still connected, its replica. Resolves once the old master is in sync.
   */
  switchOver(timeoutMs: number): Promise<void>;
  /** Kills the master (SIGKILL) and resolves once the Sentinel has promoted the replica. */
  failOver(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterSetup {
  /** `redis://:PASSWORD@127.0.0.1:PORT` of each master. */
  nodes: string[];
  stop(): Promise<void>;
}

const masterName = "gatehouse-test";
/** Ports of running Sentinels: they take `sentinelPassword`, every other node `redisPassword`. */
const sentinelPorts = new Set<number>();

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
    const inDir = ["--dir", dir, ...auth];
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
        `sentinel auth-pass ${masterName} ${redisPassword}`,
        `requirepass ${sentinelPassword}`,
        "",
      ].join("\n"),
    );
    sentinelPorts.add(sentinelPort);
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
  // The data nodes as [process, port], the current master first.
  const nodes: [ChildProcess, number][] = [
    [children[0]!, masterPort],
    [children[1]!, replicaPort],
  ];
  const promoted = async (port: number) => {
    const address = await command(sentinelPort, [
      "SENTINEL",
      "GET-MASTER-ADDR-BY-NAME",
      masterName,
    ]);
    return (address as string[])[1] === String(port) && (await info(port, "role:master"));
  };
  return {
    name: masterName,
    sentinels: [`redis://:${sentinelPassword}@127.0.0.1:${sentinelPort}`],
    async switchOver(timeoutMs) {
      const [[, oldMaster], [, newMaster]] = nodes as [
        [ChildProcess, number],
        [ChildProcess, number],
      ];
      // NOGOODSLAVE until the Sentinel has fresh news of the replica: ask again until OK.
      await until(
        "the Sentinel to start a failover",
        async () => (await command(sentinelPort, ["SENTINEL", "FAILOVER", masterName])) === "OK",
        timeoutMs,
      );
      await until("the Sentinel to promote the replica", () => promoted(newMaster), timeoutMs);
      // The Sentinel demotes the old master only once it next looks at it (up to 10 s);
      // do it now, as it would, so the test need not wait. Its clients stay connected.
      await command(oldMaster, ["REPLICAOF", "127.0.0.1", String(newMaster)]);
      await until(
        "the old master to sync as a replica",
        () => info(oldMaster, "master_link_status:up"),
        timeoutMs,
      );
      nodes.reverse();
    },
    async failOver(timeoutMs) {
      const [[master], [, replica]] = nodes as [[ChildProcess, number], [ChildProcess, number]];
      master.kill("SIGKILL");
      await exited(master);
      await until("the Sentinel to promote the replica", () => promoted(replica), timeoutMs);
      nodes.reverse();
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
          ...auth,
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
    const cli = ["-a", redisPassword, "--no-auth-warning", "--cluster", "create", ...addresses];
    await run("redis-cli", [...cli, "--cluster-yes"], {
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
    nodes: ports.map((port) => `redis://:${redisPassword}@127.0.0.1:${port}`),
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
    password: sentinelPorts.has(port) ? sentinelPassword : redisPassword,
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
