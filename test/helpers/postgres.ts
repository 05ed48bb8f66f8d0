/**
 * @module test/helpers/postgres
 * A fresh PostgreSQL database for each test suite, on the machine's PostgreSQL
 * (127.0.0.1:5432, user postgres, trust auth; PGHOST, PGPORT and PGUSER say otherwise), made
 * with a unique name and dropped at the end. When no PostgreSQL answers there, one is started
 * for the test process from `/usr/lib/postgresql/<version>/bin` (a temporary cluster on a free
 * port, run as the `postgres` user when we are root, removed when the process exits); when
 * those binaries are missing the test fails saying how to install them.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./child-process.ts";

/** A database made for one test suite. */
export interface TestDatabase {
  /** `postgres://user@host:port/name`, for `store.open()`. */
  url: string;
  /** The database's name. */
  name: string;
  /** Drops the database (ending its connections first). */
  drop(): Promise<void>;
}

/** Where a PostgreSQL server answers. */
interface Server {
  host: string;
  port: number;
  user: string;
}

const startTimeoutMs = 30_000;
let server: Promise<Server> | undefined;

/** Creates a database with a unique name on the machine's (or a started) PostgreSQL. */
export async function createTestDatabase(): Promise<TestDatabase> {
  server ??= findOrStartServer();
  const at = await server;
  const name = `gatehouse_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await adminQuery(at, `create database ${name}`);
  return {
    url: `postgres://${at.user}@${at.host}:${at.port}/${name}`,
    name,
    async drop() {
      await adminQuery(at, `drop database if exists ${name} with (force)`);
    },
  };
}

/** Runs one statement in the `postgres` database. */
async function adminQuery(at: Server, sql: string): Promise<void> {
  const client = new pg.Client({ ...at, database: "postgres", connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Whether a PostgreSQL server answers at `at`. */
async function answers(at: Server): Promise<boolean> {
  const client = new pg.Client({ ...at, database: "postgres", connectionTimeoutMillis: 2_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function findOrStartServer(): Promise<Server> {
  const machine: Server = {
    host: process.env.PGHOST || "127.0.0.1",
    port: Number(process.env.PGPORT || 5432),
    user: process.env.PGUSER || "postgres",
  };
  if (await answers(machine)) return machine;
  return startServer();
}

/** The newest `/usr/lib/postgresql/<version>/bin` with initdb and postgres in it. */
function binDirectory(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(join(root, version, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      "PostgreSQL not found: no server answers at 127.0.0.1:5432 (or PGHOST/PGPORT) and /usr/lib/postgresql/*/bin/initdb is missing; install it with `apt-get install -y postgresql`",
    );
  }
  return join(root, versions[0]!, "bin");
}

/** Starts a throwaway cluster on a free loopback port, removed when the process exits. */
async function startServer(): Promise<Server> {
  const bin = binDirectory();
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-postgres-"));
  // PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) =>
    asRoot
      ? (["runuser", ["-u", "postgres", "--", command, ...args]] as const)
      : ([command, args] as const);
  if (asRoot) {
    const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (uid.status !== 0) {
      throw new Error(
        "no `postgres` user to run PostgreSQL as: install it with `apt-get install -y postgresql`",
      );
    }
    chownSync(dataDir, Number(uid.stdout), Number(gid.stdout));
  }
  const [initCommand, initArgs] = run(join(bin, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
  ]);
  const init = spawnSync(initCommand, initArgs, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stdout}${init.stderr}`);
  const port = await freePort();
  const [command, args] = run(join(bin, "postgres"), [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-k",
    dataDir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
  ]);
  // Its own process group: runuser stays as postgres's parent, and killing the group ends both.
  const child: ChildProcess = spawn(command, args, {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let output = "";
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  process.on("exit", () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  const at: Server = { host: "127.0.0.1", port, user: "postgres" };
  const deadline = Date.now() + startTimeoutMs;
  while (!(await answers(at))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`PostgreSQL did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The test process ends with its tests, not with this server.
  child.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  return at;
}
