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
  type FileValidation,
  type ValidationAnswer,
  type ValidationRequest,
} from "./validation-wire.ts";

const port = parentPort!;
checkRoutesWithoutTables();
// Built-ins (and, once a config names them, its plugin modules): the registry the main
// thread compares with its own before trusting an answer.
const plugins = processPluginRegistry();

/** The documents of the last valid answers, by id, and whether each crossed as JSON text. */
const documents = new Map<number, { document: ConfigDocument; json: boolean }>();

port.on("message", (request: ValidationRequest) => {
  if ("changesTo" in request) {
    port.postMessage({ id: request.id, resources: changes(request) } satisfies ValidationAnswer);
    return;
  }
  void answer(request).then((reply) => port.postMessage(reply));
});
port.postMessage({ ready: true } satisfies ValidationAnswer);

async function answer(request: FileValidation): Promise<ValidationAnswer & { id: number }> {
  const { id, file, overlay, env } = request;
  try {
    const config = await validateConfigFile(file, env, overlay, plugins);
    // The hash is taken here too: the serving thread then only looks it up.
    const { checked, configJson } = encodeChecked(checkedConfigOf(config));
    const document = configOriginOf(config)?.document;
    if (document) documents.set(id, { document, json: "json" in checked });
    // This one and the one before: the serving thread asks for the changes between them.
    for (const kept of documents.keys()) if (documents.size > 2) documents.delete(kept);
    return { id, checked, hash: configHash(config, configJson), plugins: plugins.names() };
  } catch (error) {
    if (error instanceof ConfigError) return { id, problems: error.problems };
    return { id, failure: (error as Error)?.message ?? String(error) };
  }
}

/**
 * What the document of answer `changesTo` changed from that of answer `changesFrom`, as the
 * audit records it (control plane), or null. The serving thread decoded both from JSON
 * text: the diff here says what one there would only if the text gave them back exactly.
 */
function changes({ changesFrom, changesTo }: { changesFrom: number; changesTo: number }) {
  const from = documents.get(changesFrom);
  const to = documents.get(changesTo);
  if (!from?.json || !to?.json || !exactJson(from.document) || !exactJson(to.document)) return null;
  return diffConfigs(from.document, to.document).resources.map(({ kind, name, change }) => ({
    kind,
    name,
    change,
  }));
}
