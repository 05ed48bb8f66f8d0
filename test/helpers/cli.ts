/**
 * @module test/helpers/cli
 * Runs the real `gatehouse` command in a child process, to completion.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const cliPath = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed; without it stdin is closed at once. */
  stdin?: string;
  /** The child is killed after this long (a test never waits for ever). */
  timeoutMs?: number;
  /** The script node runs instead of src/cli/main.ts (e.g. a launcher in bin/). */
  script?: string;
  /** Options for node itself, before the script. */
  nodeOptions?: string[];
  /** The working directory (default: this process's), for paths written as a user types them. */
  cwd?: string;
}

/** Runs `gatehouse ARGS` and resolves with its exit code and output. */
export function runGatehouse(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const script = options.script ?? cliPath;
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    env: { ...process.env, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(options.stdin);
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
