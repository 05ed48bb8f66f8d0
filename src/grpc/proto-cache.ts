/**
 * @module grpc/proto-cache
 * Parsed `.proto` sets, kept so that one config load parses each set once: the load checks
 * a `grpc-transcode` entry, asks which files it reads, then creates it, and each step
 * needs the same set; a reload that changed no `.proto` needs it again. An entry is used
 * only while every file it read holds the same text and every place an import was looked
 * for in vain is still empty, so an edited, added or removed file is always parsed anew.
 */
import { existsSync, readFileSync } from "node:fs";
import {
  loadProtosAndInputs,
  type ProtoInputs,
  type ProtoLoadResult,
  type ProtoSources,
} from "./proto-loader.ts";

/**
 * Sets kept, the least recently used dropped first. One entry per set of sources (an edit
 * replaces it), so this bounds only what configs no longer naming a set leave behind.
 */
export const maxProtoSets = 100;

interface Entry {
  result: ProtoLoadResult;
  inputs: ProtoInputs;
}

const entries = new Map<string, Entry>();
let parsed = 0;

/** `loadProtos(sources)`, parsed again only when a file it read or looked for changed. */
export function cachedProtos(sources: ProtoSources): ProtoLoadResult {
  const key = JSON.stringify([sources.baseDir, sources.protos, sources.includeDirs ?? []]);
  const kept = entries.get(key);
  // Taken out and put back: the Map's order is the order of use.
  entries.delete(key);
  const entry = kept && unchanged(kept.inputs) ? kept : parse(sources);
  entries.set(key, entry);
  if (entries.size > maxProtoSets) entries.delete(entries.keys().next().value!);
  return entry.result;
}

/** How many times this process has parsed a set (not found it unchanged): for tests. */
export function protoSetsParsed(): number {
  return parsed;
}

function parse(sources: ProtoSources): Entry {
  parsed++;
  return loadProtosAndInputs(sources);
}

function unchanged(inputs: ProtoInputs): boolean {
  for (const [file, text] of inputs) {
    if (text === null ? existsSync(file) : readOrUndefined(file) !== text) return false;
  }
  return true;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
