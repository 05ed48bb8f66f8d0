/**
 * @module runtime/validation-worker
 * The thread a file reload is read, parsed and validated in (see runtime/validation-thread):
 * it runs `validateConfigFile` with this thread's own plugin registry and answers each
 * request with the checked config as plain data, or with the located problems that refused
 * it. It serves nothing and holds no state but the plugins it has loaded.
 */
import { parentPort } from "node:worker_threads";
import { checkedConfigOf } from "../config/checked-config.ts";
import { diffConfigs } from "../config/diff.ts";
import { type ConfigDocument, configOriginOf } from "../config/document.ts";
import { ConfigError } from "../config/load.ts";
import { configHash } from "../observability/config-revision.ts";
import { processPluginRegistry } from "../plugins/index.ts";
import { checkRoutesWithoutTables } from "./compile.ts";
import { validateConfigFile } from "./validate.ts";
import {
  encodeChecked,
  exactJson,
  type ValidationAnswer,
  type ValidationRequest,
} from "./validation-wire.ts";

const port = parentPort!;
checkRoutesWithoutTables();
// Built-ins (and, once a config names them, its plugin modules): the registry the main
// thread compares with its own before trusting an answer.
const plugins = processPluginRegistry();

/** The document of the last valid answer, when it crossed as exact JSON (see changesAfter). */
let previous: { id: number; document: ConfigDocument } | undefined;

port.on("message", (request: ValidationRequest) => {
  void answer(request).then(({ reply, document }) => {
    port.postMessage(reply);
    if ("checked" in reply) changesAfter(reply.id, document);
  });
});
port.postMessage({ ready: true } satisfies ValidationAnswer);

async function answer({ id, file, overlay, env }: ValidationRequest): Promise<{
  reply: ValidationAnswer & { id: number };
  document?: ConfigDocument;
}> {
  try {
    const config = await validateConfigFile(file, env, overlay, plugins);
    // The hash is taken here too: the serving thread then only looks it up.
    const { checked, configJson } = encodeChecked(checkedConfigOf(config));
    const reply = { id, checked, hash: configHash(config, configJson), plugins: plugins.names() };
    const document = configOriginOf(config)?.document;
    return { reply, document: "json" in checked ? document : undefined };
  } catch (error) {
    if (error instanceof ConfigError) return { reply: { id, problems: error.problems } };
    return { reply: { id, failure: (error as Error)?.message ?? String(error) } };
  }
}

/**
 * Once answer `id` has gone: what its document changed from the previous valid answer's,
 * for the audit (config/diff-ahead). The serving thread would otherwise diff them after
 * the swap, holding requests; here it costs no one a wait. An answer whose document did
 * not cross as exact JSON is diffed there, and the next one has nothing to be diffed from.
 */
function changesAfter(id: number, crossed: ConfigDocument | undefined): void {
  const document = crossed && exactJson(crossed) ? crossed : undefined;
  if (previous && document) {
    const resources = diffConfigs(previous.document, document).resources.map(
      ({ kind, name, change }) => ({ kind, name, change }),
    );
    port.postMessage({ id, changesFrom: previous.id, resources } satisfies ValidationAnswer);
  }
  previous = document && { id, document };
}
