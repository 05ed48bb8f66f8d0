/**
 * @module bench/instances-upstream
 * The 1,000 targets of the instances bench: one nginx process listening on 1,000
 * distinct loopback address:port pairs (200 addresses from 127.0.0.10 × 5 ports), each
 * answering `/health` with 200 and every other path with the bench's small JSON.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nginxHead, upstreamBody } from "./nginx.ts";
import { type Child, freePort, startChild, stopChild } from "./processes.ts";

const addresses = 200;
const firstAddress = 10;

/** The running nginx and the target URLs it serves. */
export interface Fleet {
  urls: string[];
  nginx: Child;
  stop(): Promise<void>;
}

/** Starts nginx with `count` listeners (a multiple of 200, up to 1,000) and waits for all. */
export async function startFleet(dir: string, count: number): Promise<Fleet> {
  const portCount = Math.ceil(count / addresses);
  // A port picked on 127.0.0.1 may be taken on another address by a process elsewhere:
  // nginx then fails to start, and a fresh set of ports is tried.
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < portCount; i++) ports.push(await freePort());
    const urls = Array.from({ length: count }, (_, i) => {
      const address = `127.0.0.${firstAddress + (i % addresses)}`;
      return `http://${address}:${ports[Math.floor(i / addresses)]}`;
    });
    const prefix = join(dir, `instances-nginx-${attempt}`);
    const nginx = startNginxFleet(prefix, urls);
    try {
      await firstAnswer(nginx, urls[0]!, 15_000);
      await Promise.all(urls.map((url) => reachable(url)));
      return { urls, nginx, stop: () => stopChild(nginx) };
    } catch (error) {
      lastError = error;
      await stopChild(nginx);
    }
  }
  throw lastError;
}

function startNginxFleet(prefix: string, urls: string[]): Child {
  mkdirSync(join(prefix, "logs"), { recursive: true });
  const config = join(prefix, "nginx.conf");
  const listens = urls.map((url) => `    listen ${url.slice("http://".length)};`).join("\n");
  // One process (no master), as bench/nginx.ts runs it; enough connections for the
  // listeners, the gateway's pools and the probes' fresh connections.
  writeFileSync(
    config,
    `${nginxHead(prefix, 12000, 16384)}
  server {
${listens}
    default_type application/json;
    location = /health {
      return 200 '{"status":"up"}';
    }
    location / {
      return 200 '${upstreamBody}';
    }
  }
}
`,
  );
  return startChild("nginx instances", "nginx", [
    "-p",
    prefix,
    "-e",
    join(prefix, "logs/error.log"),
    "-c",
    config,
  ]);
}

/** Polls `url` until nginx answers it, nginx exits, or `timeoutMs` passes. */
async function firstAnswer(nginx: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (nginx.process.exitCode !== null || nginx.process.signalCode !== null)
      throw new Error(`${nginx.name} exited before listening:\n${nginx.output()}`);
    try {
      return await reachable(url);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`${nginx.name} did not answer ${url} within ${timeoutMs} ms:\n${nginx.output()}`);
}

/** Every listener answers its health path, or this throws. */
async function reachable(url: string): Promise<void> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}/health answered ${res.status}`);
}
