/**
 * @module test/helpers/sdk-service-process
 * A service written with the SDK (test/fixtures/sdk/registered-service.ts) in its own
 * process, so that a test can send it real signals or block its main thread. Its stdout
 * is read as the JSON lines it writes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { exited } from "./child-process.ts";
import { until } from "./until.ts";

const fixture = fileURLToPath(new URL("../fixtures/sdk/registered-service.ts", import.meta.url));

/** One line the service wrote. */
export interface ServiceEvent {
  event: string;
  at: number;
  [key: string]: unknown;
}

export interface ServiceProcess {
  readonly process: ChildProcess;
  readonly events: ServiceEvent[];
  /** Resolves with the first event named `name` (waiting up to `timeoutMs`). */
  waitFor(name: string, timeoutMs?: number): Promise<ServiceEvent>;
  /** What it wrote to stderr, for failure messages. */
  stderr(): string;
  /** SIGKILL, then waits for the exit (a no-op if it has exited). */
  kill(): Promise<void>;
}

/**
 * Starts the service with these environment variables (REGISTRY, SERVICE, TTL, SLOW_MS,
 * BLOCK_MS, HANDLE_SIGNALS), or another fixture that writes JSON lines (`script`).
 */
export function startServiceProcess(
  env: Record<string, string>,
  script: string = fixture,
): ServiceProcess {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const events: ServiceEvent[] = [];
  let buffered = "";
  let errors = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      events.push(JSON.parse(buffered.slice(0, newline)) as ServiceEvent);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    errors += chunk;
  });
  return {
    process: child,
    events,
    async waitFor(name, timeoutMs = 10_000) {
      await until(
        () => {
          if (events.some((event) => event.event === name)) return true;
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`service exited before "${name}":\n${errors}`);
          }
          return false;
        },
        `the service to report "${name}"`,
        timeoutMs,
      );
      return events.find((event) => event.event === name)!;
    },
    stderr: () => errors,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited(child);
    },
  };
}
