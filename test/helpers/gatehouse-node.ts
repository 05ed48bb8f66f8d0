/**
 * @module test/helpers/gatehouse-node
 * A real `gatehouse start` process (a gateway node of a cluster), on free ports it picks
 * itself: its proxy, status and admin addresses are read from its process log.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request } from "undici";
import { cliPath } from "./cli.ts";

export interface GatehouseNode {
  process: ChildProcess;
  url: string;
  statusUrl: string;
  adminUrl: string;
  /** Everything it printed so far (JSON log lines). */
  output(): string;
  /** GET through the proxy: the status code (0 when the request failed). */
  get(path: string): Promise<number>;
  /** An admin API request; the body parsed as JSON. */
  admin(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the answer holds
  ): Promise<{ status: number; body: any }>;
  /** A metric's value from /metrics (undefined when absent). */
  metric(line: RegExp): Promise<number | undefined>;
  stop(): Promise<void>;
}

const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });

export interface GatehouseNodeOptions {
  timeoutMs?: number;
  /** Run under this open-file limit (soft and hard; util-linux `prlimit`). */
  openFiles?: number;
}

/** Starts `gatehouse start -c FILE`; resolves once every listener is up, or with its exit. */
export async function startGatehouseNode(
  file: string,
  { timeoutMs = 15_000, openFiles }: GatehouseNodeOptions = {},
): Promise<GatehouseNode> {
  const command = [process.execPath, cliPath, "start", "-c", file];
  if (openFiles !== undefined) command.unshift("prlimit", `--nofile=${openFiles}:${openFiles}`);
  const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  const address = (listener: string) =>
    new RegExp(`"${listener} listening on (127\\.0\\.0\\.1:\\d+)"`).exec(out)?.[1];
  const deadline = Date.now() + timeoutMs;
  while (!(address("proxy") && address("status") && address("admin"))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`gatehouse did not start (exit ${child.exitCode}):\n${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const url = `http://${address("proxy")}`;
  const statusUrl = `http://${address("status")}`;
  const adminUrl = `http://${address("admin")}`;
  return {
    process: child,
    url,
    statusUrl,
    adminUrl,
    output: () => out,
    async get(path) {
      try {
        const res = await request(`${url}${path}`, { dispatcher: agent });
        await res.body.dump();
        return res.statusCode;
      } catch {
        return 0;
      }
    },
    async admin(method, path, body, headers = {}) {
      const res = await request(`${adminUrl}${path}`, {
        method: method as "GET",
        dispatcher: agent,
        headers: { ...headers, ...(body !== undefined && { "content-type": "application/json" }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
    },
    async metric(line) {
      const res = await request(`${statusUrl}/metrics`, { dispatcher: agent });
      const match = line.exec(await res.body.text());
      return match ? Number(match[1]) : undefined;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await once(child, "exit");
      clearTimeout(timer);
    },
  };
}
