/**
 * @module plugins/transform/json-edits
 * JSON body edits by dotted field path (`user.address.city`, `items.0.id`): compiled once
 * from the config, applied to a parsed body in Kong's order (remove, rename, replace, set,
 * add),
 * and the stream that holds a body whole, edits it and writes it back. A body that is not
 * a JSON object passes untouched.
 */
import { Transform, type TransformCallback } from "node:stream";
import type { RequestContext } from "../../pipeline/context.ts";
import type { BodyEdits } from "./schema.ts";
import { compileTemplate, type Template } from "./template.ts";

/** Names that would reach an object's prototype rather than a field of the body. */
const unsafe = new Set(["__proto__", "prototype", "constructor"]);

/** The problem with a dotted field path, or undefined when it is usable. */
export function fieldPathProblem(path: string): string | undefined {
  const steps = path.split(".");
  if (steps.some((step) => step === "")) return `field path "${path}" has an empty part`;
  const bad = steps.find((step) => unsafe.has(step));
  return bad === undefined ? undefined : `field path "${path}": "${bad}" cannot be edited`;
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return value !== null && typeof value === "object";
}

/** The container holding the last step of `steps`, created on the way when `create`. */
function parentOf(
  body: Container,
  steps: readonly string[],
  create: boolean,
): Container | undefined {
  let at: Container = body;
  for (let i = 0; i < steps.length - 1; i++) {
    const step = steps[i]!;
    let next = (at as Record<string, unknown>)[step];
    if (!isContainer(next)) {
      if (!create || next !== undefined || Array.isArray(at)) return undefined;
      next = {};
      (at as Record<string, unknown>)[step] = next;
    }
    at = next as Container;
  }
  return at;
}

function has(container: Container, key: string): boolean {
  return Object.hasOwn(container, key);
}

function remove(container: Container, key: string): void {
  if (Array.isArray(container)) {
    const index = Number(key);
    if (Number.isInteger(index)) container.splice(index, 1);
  } else delete container[key];
}

/** A field value from the config: JSON as written, a string possibly templated. */
type FieldValue = { template: Template } | { json: unknown };

/** The edits of one config, ready to apply to any number of bodies. */
export interface CompiledBodyEdits {
  /** Applies the edits to a parsed body in place, templated values read from `ctx`. */
  apply(body: Container, ctx: RequestContext): void;
}

/** Compiles the body edits of a config once. */
export function compileBodyEdits(edits: BodyEdits): CompiledBodyEdits {
  const split = (path: string) => path.split(".");
  const removes = edits.remove.map(split);
  const renames = Object.entries(edits.rename).map(([from, to]) => [split(from), split(to)]);
  const value = (json: unknown): FieldValue =>
    typeof json === "string" ? { template: compileTemplate(json) } : { json };
  const replaces = Object.entries(edits.replace).map(
    ([path, json]) => [split(path), value(json)] as const,
  );
  const sets = Object.entries(edits.set).map(([path, json]) => [split(path), value(json)] as const);
  const adds = Object.entries(edits.add).map(([path, json]) => [split(path), value(json)] as const);

  function write(
    body: Container,
    steps: string[],
    field: FieldValue,
    ctx: RequestContext,
    when: "always" | "absent" | "present",
  ) {
    const parent = parentOf(body, steps, when !== "present");
    const key = steps.at(-1)!;
    if (!parent || (when !== "always" && has(parent, key) !== (when === "present"))) return;
    // A config value is used by every request: each body gets its own copy.
    const written = "template" in field ? field.template.render(ctx) : structuredClone(field.json);
    if (written !== undefined) (parent as Record<string, unknown>)[key] = written;
  }

  return {
    apply(body, ctx) {
      for (const steps of removes) {
        const parent = parentOf(body, steps, false);
        if (parent) remove(parent, steps.at(-1)!);
      }
      for (const [from, to] of renames) {
        const parent = parentOf(body, from!, false);
        const key = from!.at(-1)!;
        if (!parent || !has(parent, key)) continue;
        const moved = (parent as Record<string, unknown>)[key];
        remove(parent, key);
        const target = parentOf(body, to!, true);
        if (target) (target as Record<string, unknown>)[to!.at(-1)!] = moved;
      }
      for (const [steps, field] of replaces) write(body, steps, field, ctx, "present");
      for (const [steps, field] of sets) write(body, steps, field, ctx, "always");
      for (const [steps, field] of adds) write(body, steps, field, ctx, "absent");
    },
  };
}

/** Whether a Content-Type is JSON (`application/json`, `application/problem+json`, ...). */
export function isJsonType(type: string | undefined): boolean {
  return type !== undefined && /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(type);
}

/** Whether a Content-Encoding says the body is encoded (compressed): anything but identity. */
export function isEncoded(encoding: string | undefined): boolean {
  return (
    encoding !== undefined && encoding.trim() !== "" && encoding.trim().toLowerCase() !== "identity"
  );
}

/** What a JSON edit stream tells the plugin that asked for it. */
export interface JsonEditEvents {
  /** The body was not a JSON object or list: it went on as it came. */
  unparsable(): void;
  /**
   * The body's final length, when this stream is the body's last transform (nothing is
   * piped after it), just before the body is written: a response can say its length.
   */
  length?(bytes: number): void;
}

/**
 * A stream that holds a body whole (the pipeline bounds it), then writes the edited JSON;
 * a body that is not a JSON object or list is written back as it came.
 */
export class JsonEditStream extends Transform {
  readonly #edits: CompiledBodyEdits;
  readonly #ctx: RequestContext;
  readonly #events: JsonEditEvents;
  readonly #chunks: Buffer[] = [];
  /** Whether another transform reads from this one, so its output is not the body sent. */
  #piped = false;

  constructor(edits: CompiledBodyEdits, ctx: RequestContext, events: JsonEditEvents) {
    super();
    this.#edits = edits;
    this.#ctx = ctx;
    this.#events = events;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    this.#piped = true;
    return super.pipe(destination, options);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#chunks.push(chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    const received = Buffer.concat(this.#chunks);
    let body: unknown;
    try {
      body = JSON.parse(received.toString("utf8"));
    } catch {
      body = undefined;
    }
    let out = received;
    if (isContainer(body)) {
      this.#edits.apply(body, this.#ctx);
      out = Buffer.from(JSON.stringify(body));
    } else this.#events.unparsable();
    if (!this.#piped) this.#events.length?.(out.length);
    done(null, out);
  }
}
