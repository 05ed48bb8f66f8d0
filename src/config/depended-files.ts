/**
 * @module config/depended-files
 * The files a config depends on besides its own text (the `.proto` files a plugin reads):
 * their contents are not in the config, so a digest of them is kept with it and goes into
 * its hash, and an edit to one makes a new config though the config file did not change.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { DependedFiles } from "./document.ts";

/** `files` (absolute paths) with a digest of what they hold now; undefined if there are none. */
export function dependedFiles(files: Iterable<string>): DependedFiles | undefined {
  const list = [...new Set(files)];
  if (list.length === 0) return undefined;
  const digest = createHash("sha256");
  for (const file of list) digest.update(`${file}\n${partOf(file)}\n`);
  return { files: list, digest: digest.digest("hex") };
}

/** One file's part: its length and hash, or why it could not be read (the check reports it). */
function partOf(file: string): string {
  try {
    const bytes = readFileSync(file);
    return `${bytes.length}:${createHash("sha256").update(bytes).digest("hex")}`;
  } catch (error) {
    return `!${(error as NodeJS.ErrnoException).code ?? "unreadable"}`;
  }
}
