// The docs and the code describe the project as it is: no text in them refers to numbered
// issues or work sessions, which a reader of the project has no way to look up.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const searched = ["README.md", "docs", "examples", "src", "bench", "deploy", "scripts", "test"];
const textFile = /\.(md|ts|js|json|ya?ml|lua|conf|txt)$|Dockerfile$/;
// The word issue or session, then a number (written with a space, a hyphen or a #).
const numbered = /\b(issue|session)s?[ -]#?\d+/i;

/** Every text file under `path` (a file or a folder), relative to the repository root. */
async function textFiles(path: string): Promise<string[]> {
  const full = join(root, path);
  const entries = await readdir(full, { withFileTypes: true, recursive: true }).catch(
    () => undefined,
  );
  if (!entries) return [path];
  return entries
    .filter((entry) => entry.isFile() && textFile.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

describe("docs and code text", () => {
  it("never mentions a numbered issue or session", async () => {
    const found: string[] = [];
    for (const path of (await Promise.all(searched.map(textFiles))).flat()) {
      const lines = (await readFile(join(root, path), "utf8")).split("\n");
      lines.forEach((line, i) => {
        if (numbered.test(line)) found.push(`${path}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(found, []);
  });
});
