/**
 * @module runtime/validation-worker
 * The thread a file reload is read, parsed and validated in (see runtime/validation-thread):
 * it runs `validateConfigFile` with this thread's own plugin registry and answers each
 * request with the checked config as plain data, or with the located problems that refused
 * it. It serves nothing and holds no state but the plugins it has loaded.
 */
import { parentPort } from "node:worker_threads";
import { checkedConfigOf } from "../config/checked-config.ts";
import { ConfigError } from "../config/load.ts";
import { configHash } from "../observability/config-revision.ts";
import { processPluginRegistry } from "../plugins/index.ts";
import { checkRoutesWithoutTables } from "./compile.ts";
import { validateConfigFile } from "./validate.ts";
import { encodeChecked, type ValidationAnswer, type ValidationRequest } from "./validation-wire.ts";

const port = parentPort!;
checkRoutesWithoutTables();
// Built-ins (and, once a config names them, its plugin modules): the registry the main
// thread compares with its own before trusting an answer.
const plugins = processPluginRegistry();

port.on("message", (request: ValidationRequest) => {
  void answer(request).then((reply) => port.postMessage(reply));
});
port.postMessage({ ready: true } satisfies ValidationAnswer);

async function answer({ id, file, overlay, env }: ValidationRequest): Promise<ValidationAnswer> {
  try {
    const config = await validateConfigFile(file, env, overlay, plugins);
    // The hash is taken here too: the serving thread then only looks it up.
    const { checked, configJson } = encodeChecked(checkedConfigOf(config));
    return { id, checked, hash: configHash(config, configJson), plugins: plugins.names() };
  } catch (error) {
    if (error instanceof ConfigError) return { id, problems: error.problems };
    return { id, failure: (error as Error)?.message ?? String(error) };
  }
}
