/**
 * @module examples/shop/launch/children
 * The processes `npm run shop` starts (the gateway, the services): each a Node child in its
 * own process group, so a Ctrl-C in the terminal reaches only the launcher, which then stops
 * each child with SIGTERM (SIGKILL after a grace period) in the order it chooses. Their
 * output is passed on line by line, prefixed with the child's name.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/** A started child. */
export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with how it ended, once it has. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node …args` as `name`, with `env`. */
export function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, args, {
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = `[${name}] `;
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    createInterface({ input: stream!, crlfDelay: Infinity }).on("line", (line) => {
      out.write(`${prefix}${line}\n`);
    });
  }
  const ended = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { name, process: child, ended };
}

/** Whether the child has exited. */
export function hasExited(child: Child): boolean {
  return child.process.exitCode !== null || child.process.signalCode !== null;
}

/** Sends SIGTERM and waits up to `graceMs` for the exit; then SIGKILL. */
export async function stopChild(child: Child, graceMs: number): Promise<void> {
  if (hasExited(child)) return;
  child.process.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), graceMs);
  });
  const outcome = await Promise.race([child.ended, late]);
  clearTimeout(timer);
  if (outcome === "late" && !hasExited(child)) {
    process.stderr.write(`[shop] ${child.name} did not stop within ${graceMs} ms: killing it\n`);
    child.process.kill("SIGKILL");
    await child.ended;
  }
}
