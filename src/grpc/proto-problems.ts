/**
 * @module grpc/proto-problems
 * Where in a `.proto` file something is, for problems reported at FILE:LINE:COL.
 * protobufjs's reflection objects carry no positions, so declarations are found in the
 * file's text; its parse errors carry a line, and the column is where the offending
 * token is on it.
 */

/** A place in a `.proto` file (line and column are 1-based). */
export interface ProtoLocation {
  file: string;
  line: number;
  col: number;
}

/** Something wrong with the `.proto` files; `line`/`col` are absent when unknown. */
export interface ProtoProblem {
  file: string;
  line?: number;
  col?: number;
  message: string;
}

/** protobufjs says `illegal token 'x' (file, line 3)`; the column is where `x` is on that line. */
export function parseProblem(file: { path: string; text: string }, error: unknown): ProtoProblem {
  const text = error instanceof Error ? error.message : String(error);
  const lineMatch = /\(.*?line (\d+)\)$/.exec(text);
  const message = text.replace(/\s*\([^()]*\)$/, "");
  if (!lineMatch) {
    const named = /'([^']+)'/.exec(text)?.[1];
    return {
      ...(named ? locate(file, wordPattern(named.split(".").pop()!)) : { file: file.path }),
      message,
    };
  }
  const line = Number(lineMatch[1]);
  const token = /'([^']*)'/.exec(text)?.[1];
  const lineText = file.text.split("\n")[line - 1] ?? "";
  const at = token ? lineText.indexOf(token) : -1;
  return { file: file.path, line, col: at >= 0 ? at + 1 : 1, message };
}

/** Where `pattern` first matches in the file; the file's start when it does not. */
export function locate(file: { path: string; text: string }, pattern: RegExp): ProtoLocation {
  const match = pattern.exec(file.text);
  if (!match) return { file: file.path, line: 1, col: 1 };
  const before = file.text.slice(0, match.index);
  const line = before.split("\n").length;
  return { file: file.path, line, col: match.index - before.lastIndexOf("\n") };
}

/** Finds the declaration `rpc Name(`. */
export function rpcPattern(name: string): RegExp {
  return new RegExp(`\\brpc\\s+${escapeRegExp(name)}\\s*\\(`);
}

/** Finds `word` as a whole word. */
export function wordPattern(word: string): RegExp {
  return new RegExp(`\\b${escapeRegExp(word)}\\b`);
}

/** `text` matched literally inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
