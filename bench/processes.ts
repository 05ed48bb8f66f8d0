/**
 * @module bench/processes
 * Child processes of the benchmark: spawn with a bounded output tail, stop politely then
 * firmly, and kill every one still running when the harness exits, fails or gets Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";

/** A process the harness started, with the last few kilobytes of what it printed. */
export interface Child {
  name: string;
  process: ChildProcess;
  /** The tail of its stdout and stderr, for error messages. */
  output(): string;
  /** Resolves when it has exited. */
  exited: Promise<void>;
}

const running = new Set<ChildProcess>();
const outputTail = 8 * 1024;

/**
 * Starts `command`; its output is kept (tail only) so a failure can show it. `stdoutFd`, a
 * file's descriptor, becomes its stdout as a process manager or a shell's `> file` makes it
 * (then only stderr's tail is kept).
 */
export function startChild(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdoutFd?: number,
): Child {
  const child = spawn(command, args, {
    stdio: ["ignore", stdoutFd ?? "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  running.add(child);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-outputTail);
  };
  child.stdout?.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    child.once("error", (error) => {
      keep(Buffer.from(`${error.message}\n`));
      running.delete(child);
      resolve();
    });
    child.once("exit", () => {
      running.delete(child);
      resolve();
    });
  });
  return { name, process: child, output: () => tail, exited };
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: Child, graceMs = 3_000): Promise<void> {
  if (!running.has(child.process)) return;
  child.process.kill("SIGTERM");
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Kills every child still running, synchronously (safe inside an `exit` handler). */
export function killAllChildren(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/** Makes sure no child outlives the harness, whatever way it ends. */
export function installCleanupHandlers(cleanup: () => void): void {
  process.once("exit", () => {
    killAllChildren();
    cleanup();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal} received, stopping every child process`);
      process.exit(130);
    });
  }
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Polls a TCP connect until the port accepts, the child exits, or `timeoutMs` passes. */
export async function waitForListening(child: Child, port: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!running.has(child.process))
      throw new Error(`${child.name} exited before listening:\n${child.output()}`);
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `${child.name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${child.output()}`,
  );
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.setTimeout(1_000);
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
    socket.once("timeout", () => finish(false));
  });
}

let clockTicks: number | undefined;

/** User + system CPU seconds a process has used so far (Linux /proc), or undefined elsewhere. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}
