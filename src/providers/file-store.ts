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
import { GatehouseError } from "../errors.ts";

/** The file on disk no longer holds the config being served: someone edited it. */
function changedOnDisk(file: string): GatehouseError {
  return new GatehouseError(
    "GATEHOUSE_CONFIG_CONFLICT",
    `${file} was changed on disk and that change is not serving (a reload is pending, or it was refused): reload or fix the file, then retry`,
  );
}

/** Writes admin changes back into one config file. */
export class ConfigFileStore {
  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /**
   * Replaces the dynamic sections of the file with `document`'s. `serving` is the document
   * being served: when the file's dynamic sections differ from it, the file was edited and
   * not applied, and overwriting it would lose that edit, so this throws a GatehouseError
   * GATEHOUSE_CONFIG_CONFLICT. Resolves with the text written.
   */
  async write(document: ConfigDocument, serving: ConfigDocument): Promise<string> {
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
