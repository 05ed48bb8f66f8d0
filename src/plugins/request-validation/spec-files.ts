/**
 * @module plugins/request-validation/spec-files
 * The files of one OpenAPI document, read synchronously (a plugin's `check` and `create`
 * are synchronous): the document and every file its `$ref`s reach, each parsed once with
 * the positions of its nodes, so a problem can be reported at `file:line:col`. A `$ref` is
 * followed here as (file, JSON pointer); a document given inline has a made-up file name
 * in the config file's folder, against which its relative refs resolve.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Document, LineCounter, parseDocument } from "yaml";

/** A place in one of the files: the file and the JSON pointer's segments. */
export interface SpecPlace {
  file: string;
  path: readonly string[];
}

/** A problem in the document, located when it can be. */
export interface SpecProblem {
  message: string;
  file: string;
  line?: number;
  col?: number;
}

/** Thrown while reading the files; `check` reports it, `create` fails with it. */
export class SpecError extends Error {
  readonly problem: SpecProblem;
  constructor(problem: SpecProblem) {
    super(
      problem.line
        ? `${problem.file}:${problem.line}:${problem.col}: ${problem.message}`
        : `${problem.file}: ${problem.message}`,
    );
    this.problem = problem;
  }
}

interface LoadedFile {
  value: unknown;
  doc?: Document;
  lines?: LineCounter;
}

/** The JSON pointer fragment of `path`, escaped for a URI (`#/paths/~1users~1%7Bid%7D`). */
export function pointerFragment(path: readonly string[]): string {
  return path
    .map((segment) => `/${encodeURIComponent(segment.replaceAll("~", "~0").replaceAll("/", "~1"))}`)
    .join("");
}

export class SpecFiles {
  /** The document's own file (made up for an inline document). */
  readonly root: string;
  readonly #files = new Map<string, LoadedFile>();

  constructor(spec: string | Record<string, unknown>, baseDir: string) {
    if (typeof spec === "string") {
      this.root = resolve(baseDir, spec);
    } else {
      this.root = resolve(baseDir, "(inline spec)");
      this.#files.set(this.root, { value: structuredClone(spec) });
    }
    this.load(this.root);
  }

  /** The parsed files, by absolute path. */
  files(): string[] {
    return [...this.#files.keys()];
  }

  /** The files read from disk (not an inline document). */
  diskFiles(): string[] {
    return this.files().filter((file) => this.#files.get(file)!.doc !== undefined);
  }

  /** The URI a file is known by to ajv. */
  static uri(file: string): string {
    return pathToFileURL(file).href;
  }

  /** A file's parsed value, read and parsed at the first ask. */
  load(file: string): unknown {
    const known = this.#files.get(file);
    if (known) return known.value;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error);
      throw new SpecError({ file, message: `cannot read the OpenAPI document: ${reason}` });
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
    const error = doc.errors[0];
    if (error) {
      const at = error.linePos?.[0];
      throw new SpecError({
        file,
        line: at?.line,
        col: at?.col,
        message: error.message.split("\n")[0]!,
      });
    }
    const value = doc.toJS({ maxAliasCount: 1000 });
    this.#files.set(file, { value, doc, lines });
    return value;
  }

  /** The value at a place. */
  at(place: SpecPlace): unknown {
    let node = this.load(place.file);
    for (const segment of place.path) {
      if (node === null || typeof node !== "object") return undefined;
      node = (node as Record<string, unknown>)[segment];
    }
    return node;
  }

  /** Where a place is in its file (line and column), when the file was read from disk. */
  locate(place: SpecPlace): { line?: number; col?: number } {
    const loaded = this.#files.get(place.file);
    if (!loaded?.doc || !loaded.lines) return {};
    const keys = place.path.map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
    for (let length = keys.length; length >= 0; length--) {
      const node = loaded.doc.getIn(keys.slice(0, length), true) as
        | { range?: number[] }
        | undefined;
      if (node?.range) return loaded.lines.linePos(node.range[0]!);
    }
    return {};
  }

  /** A problem at a place, located. */
  problem(place: SpecPlace, message: string): SpecProblem {
    return { file: place.file, message, ...this.locate(place) };
  }

  /** Where a `$ref` written in `from`'s file points: its file and pointer. */
  target(ref: string, from: SpecPlace): SpecPlace {
    const hash = ref.indexOf("#");
    const filePart = hash === -1 ? ref : ref.slice(0, hash);
    const pointer = hash === -1 ? "" : ref.slice(hash + 1);
    if (/^[a-z][a-z0-9+.-]*:/i.test(filePart) && !filePart.startsWith("file:")) {
      throw new SpecError(
        this.problem(from, `$ref "${ref}": only local and relative-file references are supported`),
      );
    }
    const file =
      filePart === ""
        ? from.file
        : resolve(dirname(from.file), decodeURIComponent(filePart.replace(/^file:\/\//, "")));
    if (pointer !== "" && !pointer.startsWith("/")) {
      throw new SpecError(this.problem(from, `$ref "${ref}": the fragment must be a JSON pointer`));
    }
    const path =
      pointer === ""
        ? []
        : pointer
            .slice(1)
            .split("/")
            .map((segment) =>
              decodeURIComponent(segment).replaceAll("~1", "/").replaceAll("~0", "~"),
            );
    return { file, path };
  }

  /**
   * Follows `$ref`s from the value at `place` until a value that is not one; the place
   * that value is at. A chain that loops or points at nothing is a SpecError.
   */
  follow(place: SpecPlace): { value: unknown; place: SpecPlace } {
    let current = place;
    for (let hops = 0; hops < 32; hops++) {
      const value = this.at(current);
      const ref = (value as { $ref?: unknown } | undefined)?.$ref;
      if (typeof ref !== "string") {
        if (value === undefined)
          throw new SpecError(this.problem(place, "the reference points at nothing"));
        return { value, place: current };
      }
      const next = this.target(ref, current);
      this.load(next.file);
      if (this.at(next) === undefined) {
        const at = { file: current.file, path: [...current.path, "$ref"] };
        throw new SpecError(this.problem(at, `$ref "${ref}" points at nothing`));
      }
      current = next;
    }
    throw new SpecError(this.problem(place, "$ref chain loops"));
  }

  /**
   * Reads every file the document's `$ref`s reach and checks that each ref points at
   * something, so a broken ref is found when the config loads, at its line.
   */
  loadAll(): void {
    const seen = new Set<string>();
    const pending = [this.root];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      this.#visitRefs(this.load(file), { file, path: [] }, (ref, place) => {
        const target = this.target(ref, place);
        this.load(target.file);
        if (this.at(target) === undefined) {
          throw new SpecError(
            this.problem(
              { file: place.file, path: [...place.path, "$ref"] },
              `$ref "${ref}" points at nothing`,
            ),
          );
        }
        pending.push(target.file);
      });
    }
  }

  #visitRefs(
    node: unknown,
    place: SpecPlace,
    visit: (ref: string, place: SpecPlace) => void,
  ): void {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        this.#visitRefs(item, { file: place.file, path: [...place.path, String(i)] }, visit);
      });
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") visit(value, place);
      // Example values are data, not schemas: a "$ref" key there is the data's own.
      else if (
        key !== "example" &&
        key !== "examples" &&
        key !== "const" &&
        key !== "enum" &&
        key !== "default"
      )
        this.#visitRefs(value, { file: place.file, path: [...place.path, key] }, visit);
    }
  }
}
