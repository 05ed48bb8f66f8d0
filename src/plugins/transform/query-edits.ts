/**
 * @module plugins/transform/query-edits
 * Query argument edits on the request sent upstream, in Kong's order (remove, rename,
 * replace, set, add, append). Arguments the edits do not touch keep their spelling byte for byte; the
 * ones written are percent-encoded.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import type { CompiledNamedEdits } from "./header-edits.ts";
import { decodeQueryText } from "./template.ts";

/** One `name=value` of a query: as received (`raw`), and its name decoded. */
interface Argument {
  name: string;
  raw: string;
}

function parse(query: string): Argument[] {
  if (query === "") return [];
  return query.split("&").map((raw) => {
    const equals = raw.indexOf("=");
    return { name: decodeQueryText(equals === -1 ? raw : raw.slice(0, equals)), raw };
  });
}

function written(name: string, value: string): Argument {
  return { name, raw: `${encodeURIComponent(name)}=${encodeURIComponent(value)}` };
}

/** The upstream query (without `?`) after the edits. */
export function editQuery(edits: CompiledNamedEdits, ctx: RequestContext): string {
  let args = parse(ctx.query);
  if (edits.remove.length > 0) args = args.filter((arg) => !edits.remove.includes(arg.name));
  for (const [from, to] of edits.rename) {
    args = args.map((arg) => {
      if (arg.name !== from) return arg;
      const equals = arg.raw.indexOf("=");
      const value = equals === -1 ? "" : arg.raw.slice(equals);
      return { name: to, raw: encodeURIComponent(to) + value };
    });
  }
  for (const [name, template] of edits.replace) {
    const at = args.findIndex((arg) => arg.name === name);
    if (at === -1) continue;
    const value = template.render(ctx);
    if (value === undefined) continue;
    // In the first one's place; the others of that name go.
    args = args.filter((arg, i) => i === at || arg.name !== name);
    args[args.findIndex((arg) => arg.name === name)] = written(name, value);
  }
  for (const [name, template] of edits.set) {
    const value = template.render(ctx);
    if (value === undefined) continue;
    args = args.filter((arg) => arg.name !== name);
    args.push(written(name, value));
  }
  for (const [name, template] of edits.add) {
    if (args.some((arg) => arg.name === name)) continue;
    const value = template.render(ctx);
    if (value !== undefined) args.push(written(name, value));
  }
  for (const [name, template] of edits.append) {
    const value = template.render(ctx);
    if (value !== undefined) args.push(written(name, value));
  }
  return args.map((arg) => arg.raw).join("&");
}
