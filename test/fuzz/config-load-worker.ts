/**
 * @module test/fuzz/config-load-worker
 * Loads config text in a worker thread for the config fuzz test, so a case that hangs is
 * stopped (the worker terminated) instead of hanging the test. Answers each message with
 * what the loader did (after a first "ready" once its modules are loaded): a valid config (and whether the positioned path agrees with the
 * fast one), the located problems of a ConfigError, or any other throw, with its stack.
 */
import { isDeepStrictEqual } from "node:util";
import { parentPort } from "node:worker_threads";
import { ConfigError, parseSourcesPositioned } from "../../src/config/load.ts";
import { gatewayChecks, parseGatewayConfig } from "../../src/runtime/validate.ts";

export interface LoadRequest {
  id: number;
  file: string;
  text: string;
}

export type LoadAnswer = { id: number } & (
  | { kind: "valid"; samePositioned: boolean }
  | { kind: "problems"; problems: { file: string; line: number; col: number; message: string }[] }
  | { kind: "crash"; error: string }
);

parentPort!.postMessage("ready");
parentPort!.on("message", ({ id, file, text }: LoadRequest) => {
  let answer: LoadAnswer;
  try {
    const config = parseGatewayConfig(text, file, {});
    // The fast path gave this config; the path that locates problems must give the same.
    const positioned = parseSourcesPositioned([{ file, text }], { env: {}, ...gatewayChecks });
    answer = { id, kind: "valid", samePositioned: isDeepStrictEqual(config, positioned) };
  } catch (error) {
    answer =
      error instanceof ConfigError
        ? {
            id,
            kind: "problems",
            problems: error.problems.map(({ file, line, col, message }) => ({
              file,
              line,
              col,
              message,
            })),
          }
        : {
            id,
            kind: "crash",
            error: error instanceof Error ? String(error.stack) : String(error),
          };
  }
  parentPort!.postMessage(answer);
});
