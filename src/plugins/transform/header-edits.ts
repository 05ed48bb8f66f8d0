/**
 * @module plugins/transform/header-edits
 * Header edits compiled once from the config and applied in Kong's order (remove, rename,
 * replace, set, add, append): to the request sent upstream through `ctx.setUpstreamHeader`, or to
 * the response's flat header list in place. Templated values are read from the request.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import { findHeader, setHeader } from "../../proxy/headers.ts";
import { headerText, type NamedEdits } from "./schema.ts";
import { compileTemplate, type Template } from "./template.ts";

/** One config's edits of named values, names lower-cased, templates compiled. */
export interface CompiledNamedEdits {
  remove: string[];
  rename: [from: string, to: string][];
  replace: [name: string, value: Template][];
  set: [name: string, value: Template][];
  add: [name: string, value: Template][];
  append: [name: string, value: Template][];
}

/** Compiles edits; `normalise` spells names as they are compared (headers: lower case). */
export function compileNamedEdits(
  edits: NamedEdits,
  normalise: (name: string) => string = (name) => name.toLowerCase(),
): CompiledNamedEdits {
  const templated = (record: Record<string, string>): [string, Template][] =>
    Object.entries(record).map(([name, value]) => [normalise(name), compileTemplate(value)]);
  return {
    remove: edits.remove.map(normalise),
    rename: Object.entries(edits.rename).map(([from, to]) => [normalise(from), normalise(to)]),
    replace: templated(edits.replace),
    set: templated(edits.set),
    add: templated(edits.add),
    append: templated(edits.append),
  };
}

/** Whether the edits change anything at all. */
export function editsAnything(edits: CompiledNamedEdits): boolean {
  return (
    edits.remove.length +
      edits.rename.length +
      edits.replace.length +
      edits.set.length +
      edits.add.length +
      edits.append.length >
    0
  );
}

/** A templated value, unless it read text a header cannot carry: then none is sent. */
function rendered(template: Template, ctx: RequestContext): string | undefined {
  const value = template.render(ctx);
  return value !== undefined && headerText.test(value) ? value : undefined;
}

/** Applies header edits to the request sent upstream. */
export function editRequestHeaders(edits: CompiledNamedEdits, ctx: RequestContext): void {
  // The value each edited header has after the edits so far; the client's for the rest.
  const changed = new Map<string, string | undefined>();
  const current = (name: string): string | undefined => {
    if (changed.has(name)) return changed.get(name);
    const value = ctx.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  for (const name of edits.remove) changed.set(name, undefined);
  for (const [from, to] of edits.rename) {
    const value = current(from);
    if (value === undefined) continue;
    changed.set(from, undefined);
    changed.set(to, value);
  }
  for (const [name, template] of edits.replace) {
    if (current(name) === undefined) continue;
    const value = rendered(template, ctx);
    if (value !== undefined) changed.set(name, value);
  }
  for (const [name, template] of edits.set) {
    const value = rendered(template, ctx);
    if (value !== undefined) changed.set(name, value);
  }
  for (const [name, template] of edits.add) {
    if (current(name) !== undefined) continue;
    const value = rendered(template, ctx);
    if (value !== undefined) changed.set(name, value);
  }
  for (const [name, template] of edits.append) {
    const value = rendered(template, ctx);
    if (value === undefined) continue;
    const before = current(name);
    changed.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  for (const [name, value] of changed) ctx.setUpstreamHeader(name, value);
}

/** Applies header edits to a response's flat [name, value, ...] list, in place. */
export function editResponseHeaders(
  edits: CompiledNamedEdits,
  headers: string[],
  ctx: RequestContext,
): void {
  for (const name of edits.remove) setHeader(headers, name, undefined);
  for (const [from, to] of edits.rename) {
    const values: string[] = [];
    for (let at = findHeader(headers, from); at !== -1; at = findHeader(headers, from, at + 2)) {
      values.push(headers[at + 1]!);
    }
    if (values.length === 0) continue;
    setHeader(headers, from, undefined);
    setHeader(headers, to, undefined);
    for (const value of values) headers.push(to, value);
  }
  for (const [name, template] of edits.replace) {
    if (findHeader(headers, name) === -1) continue;
    const value = rendered(template, ctx);
    if (value !== undefined) setHeader(headers, name, value);
  }
  for (const [name, template] of edits.set) {
    const value = rendered(template, ctx);
    if (value !== undefined) setHeader(headers, name, value);
  }
  for (const [name, template] of edits.add) {
    if (findHeader(headers, name) !== -1) continue;
    const value = rendered(template, ctx);
    if (value !== undefined) headers.push(name, value);
  }
  // One more field line: repeated lines are how a response carries several Set-Cookie.
  for (const [name, template] of edits.append) {
    const value = rendered(template, ctx);
    if (value !== undefined) headers.push(name, value);
  }
}
