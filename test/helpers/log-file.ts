/**
 * @module test/helpers/log-file
 * A temporary file for `gateway.log.destination`, and its lines parsed as JSON (every
 * line must parse: the process log is JSON lines).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type LogLine = Record<string, unknown> & { level: string; msg: string };

export interface LogFile {
  path: string;
  /** Every line written so far. */
  lines(): Promise<LogLine[]>;
  remove(): Promise<void>;
}

export async function tempLogFile(): Promise<LogFile> {
  const dir = await mkdtemp(join(tmpdir(), "gatehouse-log-"));
  const path = join(dir, "gatehouse.log");
  return {
    path,
    async lines() {
      const text = await readFile(path, "utf8").catch(() => "");
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as LogLine);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
