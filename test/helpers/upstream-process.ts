/**
 * @module test/helpers/upstream-process
 * An upstream in its own process, so that a test can kill it for real (SIGKILL: no
 * graceful close, the kernel drops its sockets) and start it again on the same port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { exited } from "./child-process.ts";

export interface UpstreamProcess {
  readonly process: ChildProcess;
  port: number;
  url: string;
  /** Sends SIGKILL and waits until the process is gone. */
  kill(): Promise<void>;
}

/** Answers every request 200 with the body `name`, keep-alive, like a small service. */
const server = `
const { createServer } = require("node:http");
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.end(process.env.UPSTREAM_NAME));
});
server.listen(Number(process.env.UPSTREAM_PORT), "127.0.0.1", () => {
  process.stdout.write("listening " + server.address().port + "\\n");
});
`;

/** Starts the upstream process on `port` (0: a free one); resolves once it listens. */
export async function startUpstreamProcess(name: string, port = 0): Promise<UpstreamProcess> {
  const child = spawn(process.execPath, ["-e", server], {
    env: { ...process.env, UPSTREAM_NAME: name, UPSTREAM_PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.setEncoding("utf8");
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`upstream ${name} exited with ${code}`)));
  });
  const timeout = AbortSignal.timeout(10_000);
  const bound = await Promise.race([
    listening,
    once(timeout, "abort").then(() => {
      child.kill("SIGKILL");
      throw new Error(`upstream ${name} did not start listening`);
    }),
  ]);
  return {
    process: child,
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
  };
}
