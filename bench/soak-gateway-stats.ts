/**
 * @module bench/soak-gateway-stats
 * What the soak reads from the running gateway every interval: RSS and open file
 * descriptors from /proc (Linux), heap used from its Prometheus `/metrics`, and the
 * config version and open connections from `/status`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { request } from "undici";

export interface GatewayStats {
  rssMiB: number;
  heapUsedMiB: number;
  fds: number;
  configVersion: number;
  openConnections: number;
  webSocketTunnels: number;
  /** Targets of the service passing health checks and not ejected. */
  healthyTargets: number;
}

/** Reads every number; a value that cannot be read is NaN (the plot leaves a gap). */
export async function readGatewayStats(pid: number, statusUrl: string): Promise<GatewayStats> {
  const [metrics, status] = await Promise.all([
    fetchText(`${statusUrl}/metrics`),
    fetchText(`${statusUrl}/status`),
  ]);
  const heap = /^nodejs_heap_size_used_bytes\s+(\S+)/m.exec(metrics ?? "");
  let body: StatusBody = {};
  try {
    body = JSON.parse(status ?? "{}") as StatusBody;
  } catch {}
  return {
    rssMiB: rssMiB(pid),
    heapUsedMiB: heap ? Number(heap[1]) / 2 ** 20 : Number.NaN,
    fds: openFds(pid),
    configVersion: body.config?.version ?? Number.NaN,
    openConnections: body.counts?.openConnections ?? Number.NaN,
    webSocketTunnels: body.counts?.webSocketTunnels ?? Number.NaN,
    healthyTargets: body.services?.[0]?.healthy ?? Number.NaN,
  };
}

/** The part of `GET /status` the soak reads. */
interface StatusBody {
  config?: { version?: number };
  counts?: { openConnections?: number; webSocketTunnels?: number };
  services?: { healthy?: number }[];
}

function rssMiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

async function fetchText(url: string): Promise<string | undefined> {
  try {
    const answer = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    return await answer.body.text();
  } catch {
    return undefined;
  }
}
