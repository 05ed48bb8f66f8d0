/**
 * @module config/suggest
 * "Did you mean" hints: the closest known name to a misspelt one, and the keys the
 * schema allows at a given place in the config.
 */
import { distance } from "fastest-levenshtein";
import type { z } from "zod";

/** The candidate closest to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** The parts of a zod schema's definition that walking a schema needs. */
export interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
  getter?: () => z.ZodType;
}

/** A zod schema's definition: its kind, and the schemas it is made of. */
export const schemaDef = (schema: z.ZodType): SchemaDef =>
  (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** Unwraps optional/default/pipe/lazy layers to the schema that does the work. */
function unwrap(schema: z.ZodType): z.ZodType {
  for (;;) {
    const def = schemaDef(schema);
    const next = def.innerType ?? def.in ?? def.getter?.();
    if (!next) return schema;
    schema = next;
  }
}

/** The object keys the schema allows at `path` (empty when it is not an object there). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (!current) return [];
    const def = schemaDef(current);
    if (def.type === "object") current = def.shape?.[String(segment)];
    else if (def.type === "array") current = def.element;
    else if (def.type === "record") current = def.valueType;
    else if (def.type === "union") {
      current = def.options?.map(unwrap).find((option) => schemaDef(option).type === "object");
      current = current && schemaDef(current).shape?.[String(segment)];
    } else return [];
    current = current && unwrap(current);
  }
  if (!current) return [];
  const def = schemaDef(current);
  if (def.type === "object") return Object.keys(def.shape ?? {});
  if (def.type === "union") {
    return (
      def.options?.flatMap((option) => Object.keys(schemaDef(unwrap(option)).shape ?? {})) ?? []
    );
  }
  return [];
}
