/**
 * @module providers/file-store
 * The file config store: changes made through the admin API are written back into the
 * config file, so a restart keeps them and the file stays the one place the config is
 * read from. Only `services`, `routes`, `consumers` and `plugins` are rewritten; the
 * `gateway:` section and the comments around it are kept. The write is atomic (a new
 * file renamed over the old), so the file watcher and a crash never see half a file.
 */

import { randomBytes } from "node:crypto";
import { readFile, realpath, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseDocument } from "yaml";
import { type ConfigDocument, dynamicSections } from "../config/document.ts";
import { GatehouseError, isGatehouseError } from "../errors.ts";
import type { ConfigVersion } from "../runtime/config-history.ts";
import type { ConfigStore } from "../runtime/config-store.ts";

/** The file on disk no longer holds the config being served: someone edited it. */
function changedOnDisk(file: string): GatehouseError {
  return new GatehouseError(
    "GATEHOUSE_CONFIG_CONFLICT",
    `${file} was changed on disk and that change is not serving (a reload is pending, or it was refused): reload or fix the file, then retry`,
  );
}

/** Writes admin changes back into one config file. */
export class FileConfigStore implements ConfigStore {
  readonly file: string;
  /** The environment's overlay merged over `file`: then there is no one file to write to. */
  readonly #overlay: string | undefined;
  readonly shared = false;
  readonly refusedVersion = undefined;
  /** Told of each text written (see onWrite). */
  readonly #listeners: ((file: string, text: string) => void)[] = [];

  constructor(file: string, overlay?: string) {
    this.file = file;
    this.#overlay = overlay;
  }

  /**
   * Calls `listener` with the file and the text written to it, each time a change is
   * written back (it serves right after): the file provider then knows that reading that
   * text back is no change, and skips validating it again (at 10,000 routes, about 400 ms
   * of CPU after every admin write). Told before the swap, so a watcher that looks in
   * between sees nothing new either.
   */
  onWrite(listener: (file: string, text: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Writes the change into the file before it serves, so a restart never loses it. */
  async write(document: ConfigDocument, basedOn: ConfigVersion): Promise<undefined> {
    if (this.#overlay)
      throw new GatehouseError(
        "GATEHOUSE_CONFIG_NOT_WRITABLE",
        `the config is ${this.file} merged with ${this.#overlay}: there is no one file to write the change to (set gateway.configStore.file: false to keep admin changes in memory)`,
      );
    let written: string;
    try {
      written = await this.#replaceSections(document, basedOn.document);
    } catch (error) {
      if (isGatehouseError(error, "GATEHOUSE_CONFIG_CONFLICT")) throw error;
      throw new GatehouseError(
        "GATEHOUSE_CONFIG_STORE_FAILED",
        `cannot write ${this.file}: ${(error as Error).message}`,
      );
    }
    for (const listener of this.#listeners) listener(this.file, written);
    return undefined;
  }

  /**
   * Replaces the dynamic sections of the file with `document`'s. `serving` is the document
   * being served: when the file's dynamic sections differ from it, the file was edited and
   * not applied, and overwriting it would lose that edit, so this throws a GatehouseError
   * GATEHOUSE_CONFIG_CONFLICT. Resolves with the text written.
   */
  async #replaceSections(document: ConfigDocument, serving: ConfigDocument): Promise<string> {
    const target = await realpath(this.file);
    const text = await readFile(target, "utf8");
    const json = extname(target).toLowerCase() === ".json";
    const onDisk = parseDocument(text, { keepSourceTokens: false });
    const current = (onDisk.toJS() ?? {}) as ConfigDocument;
    for (const section of dynamicSections)
      if (!isDeepStrictEqual(current[section] ?? [], serving[section] ?? []))
        throw changedOnDisk(this.file);
    let output: string;
    if (json) {
      const whole: Record<string, unknown> = { ...current };
      for (const section of dynamicSections) whole[section] = document[section] ?? [];
      output = `${JSON.stringify(whole, null, 2)}\n`;
    } else {
      for (const section of dynamicSections) {
        const value = document[section] ?? [];
        if (value.length === 0 && !onDisk.has(section)) continue;
        onDisk.set(section, onDisk.createNode(value));
      }
      output = onDisk.toString({ lineWidth: 0 });
    }
    await replaceFile(target, output);
    return output;
  }
}

/** Writes `text` to a new file beside `target` with its mode, then renames it over `target`. */
async function replaceFile(target: string, text: string): Promise<void> {
  const { mode } = await stat(target);
  const temporary = join(
    dirname(target),
    `.${basename(target)}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    await writeFile(temporary, text, { mode: mode & 0o777, flush: true });
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}
