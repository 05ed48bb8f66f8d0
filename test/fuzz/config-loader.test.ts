// Property test of the config loader: valid configs mutated (values of the wrong type,
// unknown keys, bad units, duplicate names, random scalars, huge numbers, deep nesting),
// written as JSON or YAML, then the text itself broken (characters deleted and inserted,
// lines repeated). Whatever the text, the loader either accepts it, the fast and the
// positioned path agreeing, or throws a ConfigError whose every problem names the file and
// a line:col inside it; never another exception, and never longer than a bounded time
// (each case runs in a worker thread that is terminated when it overruns).
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text holds ${env:...} references
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { stringify } from "yaml";
import { checkProperty } from "../helpers/fuzz.ts";
import type { LoadAnswer } from "./config-load-worker.ts";

const FILE = "fuzz.yaml";
/** Longer than any config load takes on a loaded machine; past it the case is a hang. */
const caseTimeoutMs = 10_000;

/** One worker, replaced when a case overruns; ready once its modules are loaded. */
let worker: Promise<Worker> | undefined;
let nextId = 0;

function startWorker(): Promise<Worker> {
  const started = new Worker(new URL("./config-load-worker.ts", import.meta.url));
  return new Promise((resolve, reject) => {
    started.once("message", () => resolve(started));
    started.once("error", reject);
  });
}

async function load(text: string): Promise<LoadAnswer | "hang"> {
  worker ??= startWorker();
  const running = await worker;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      running.off("message", onMessage);
      running.off("error", onError);
      void running.terminate();
      worker = undefined;
      resolve("hang");
    }, caseTimeoutMs);
    const onMessage = (answer: LoadAnswer) => {
      if (answer.id !== id) return;
      clearTimeout(timer);
      running.off("message", onMessage);
      running.off("error", onError);
      resolve(answer);
    };
    const onError = (error: Error) => {
      clearTimeout(timer);
      running.off("message", onMessage);
      reject(error);
    };
    running.on("message", onMessage);
    running.once("error", onError);
    running.postMessage({ id, file: FILE, text });
  });
}

after(async () => (await worker)?.terminate());

/** Mostly one of `valid`, sometimes one of `odd`: configs near validity reach the later checks. */
const mostly = <T>(valid: T[], odd: T[]) =>
  fc.oneof(
    { weight: 15, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...odd) },
  );

const name = mostly(["users", "orders", "stock", "users"], ["a", "x-y", ""]);
const duration = mostly(
  ["5s", "1m", "250ms", "1h"],
  ["0s", "-1s", "5 parsecs", "1e400ms", "", "5", "1.5s"],
);
const service = fc.record({
  name,
  targets: fc.array(
    fc.record({
      url: mostly(
        ["http://127.0.0.1:9001", "http://[::1]:80"],
        ["ftp://x", "http://", "not a url"],
      ),
      weight: mostly([1, 5, 100], [0, -1, 1.5]),
    }),
    { minLength: 1, maxLength: 2 },
  ),
  loadBalancer: fc.record({
    algorithm: mostly(["round-robin", "least-connections"], ["p2c", "nope"]),
  }),
});
const route = fc.record({
  name,
  match: fc.record({
    paths: fc.array(mostly(["/", "/api/*", "/u/:id", "/é"], ["/a/../b", "x", "/f/*/g"]), {
      minLength: 1,
      maxLength: 2,
    }),
    methods: fc.array(mostly(["GET", "POST"], ["get", "BREW", ""]), { maxLength: 2 }),
  }),
  service: name,
  stripPrefix: fc.option(mostly(["/api"], ["/", "/api/", "api", "/a/.."]), { nil: undefined }),
  plugins: fc.array(
    fc.record({
      name: mostly(["rate-limit"], ["cors", "nope"]),
      config: fc.record({
        limit: mostly([1, 10, 1000], [0, -2, 1e308, 2.5]),
        window: duration,
        by: mostly(["ip", "consumer"], ["header:x-key", "moon"]),
      }),
    }),
    { maxLength: 2 },
  ),
});
const config = fc.record({
  gateway: fc.record({
    listen: fc.array(
      fc.record({
        host: mostly(["127.0.0.1", "::1"], ["0.0.0.0", "localhost", "::g"]),
        port: fc.oneof(
          { weight: 9, arbitrary: fc.integer({ min: 0, max: 65535 }) },
          { weight: 1, arbitrary: fc.constant(70000) },
        ),
      }),
      { minLength: 1, maxLength: 2 },
    ),
    shutdownTimeout: duration,
  }),
  // Duplicate names come from the "duplicate" mutation.
  services: fc.uniqueArray(service, { selector: (s) => s.name, minLength: 1, maxLength: 3 }),
  routes: fc.uniqueArray(route, { selector: (r) => r.name, maxLength: 3 }),
  consumers: fc.constant([]),
  plugins: fc.constant([]),
});

/** A value to put anywhere: wrong types, random scalars, huge numbers, references, nesting. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(1e308, -1e308, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, -0, 0.1, 1e-320),
  fc.constantFrom(
    "${env:NOPE}",
    "${file:/nonexistent}",
    "${enc:zz}",
    "~",
    "null",
    "1e400",
    "yes",
    "0x1F",
  ),
  fc.string({ maxLength: 8 }),
  fc.nat({ max: 300 }).map((depth) => {
    let value: unknown = "deep";
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
    return value;
  }),
);

type Mutation =
  | { op: "set"; at: number; value: unknown }
  | { op: "unknown-key"; at: number; key: string }
  | { op: "delete"; at: number }
  | { op: "duplicate"; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: oddValue }),
  fc.record({
    op: fc.constant("unknown-key" as const),
    at: fc.nat(),
    key: fc.constantFrom("servics", "__proto__", "constructor", "", "x"),
  }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
);

type Container = Record<string, unknown> | unknown[];
/** Every (container, key) in `root`, in a stable order. */
function places(root: unknown): [Container, string | number][] {
  const found: [Container, string | number][] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value))
      value.forEach((item, i) => {
        found.push([value, i]);
        walk(item);
      });
    else if (value !== null && typeof value === "object")
      for (const key of Object.keys(value)) {
        found.push([value as Record<string, unknown>, key]);
        walk((value as Record<string, unknown>)[key]);
      }
  };
  walk(root);
  return found;
}

function mutate(root: Record<string, unknown>, change: Mutation): void {
  const all = places(root);
  if (all.length === 0) return;
  // Spread over the document: fast-check's numbers lean small, which would hit only its start.
  const [container, key] = all[(change.at * 2654435761) % all.length]!;
  const target = container as Record<string | number, unknown>;
  if (change.op === "set") target[key] = change.value;
  else if (change.op === "delete") {
    if (Array.isArray(container)) container.splice(key as number, 1);
    else delete target[key];
  } else if (change.op === "duplicate") {
    if (Array.isArray(container)) container.push(structuredClone(container[key as number]));
  } else {
    const value = target[key];
    if (value !== null && typeof value === "object" && !Array.isArray(value))
      Object.defineProperty(value, change.key, {
        value: 1,
        enumerable: true,
        configurable: true,
        writable: true,
      });
  }
}

/** How the data is written out. */
const writers: ((data: unknown) => string)[] = [
  (data) => JSON.stringify(data),
  (data) => JSON.stringify(data, null, 2),
  (data) => stringify(data, { aliasDuplicateObjects: false }),
  (data) => stringify(data, { collectionStyle: "flow", aliasDuplicateObjects: false }),
];

/** A change to the text itself: YAML's special characters, deleted spans, repeated lines. */
const textEdit = fc.record({
  op: fc.constantFrom("insert", "delete", "repeat-line"),
  at: fc.nat(),
  length: fc.nat({ max: 12 }),
  chars: fc.string({ unit: fc.constantFrom(...":-[]{}#&*!|>'\"%@`,? \n\t\\~0aé"), maxLength: 6 }),
});
type TextEdit = typeof textEdit extends fc.Arbitrary<infer E> ? E : never;

function edit(text: string, change: TextEdit): string {
  const at = text.length === 0 ? 0 : change.at % text.length;
  if (change.op === "insert") return text.slice(0, at) + change.chars + text.slice(at);
  if (change.op === "delete") return text.slice(0, at) + text.slice(at + change.length);
  const lines = text.split("\n");
  const line = change.at % lines.length;
  lines.splice(line, 0, lines[line]!);
  return lines.join("\n");
}

const configText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        data: config,
        mutations: fc.oneof(fc.constant([]), fc.array(mutation, { maxLength: 3 })),
        writer: fc.nat({ max: writers.length - 1 }),
        edits: fc.oneof(fc.constant([]), fc.constant([]), fc.array(textEdit, { maxLength: 2 })),
      })
      .map(({ data, mutations, writer, edits }) => {
        const root = structuredClone(data) as Record<string, unknown>;
        for (const change of mutations) mutate(root, change);
        let text = writers[writer]!(root);
        for (const change of edits) text = edit(text, change);
        return text;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom(...":-[]{}#&*!|>\n a1\t"), maxLength: 40 }),
  },
);

describe("config loader property", () => {
  it("accepts a config or reports problems at FILE:LINE:COL; never throws otherwise or hangs", async () => {
    await checkProperty(
      fc.asyncProperty(configText, async (text) => {
        const answer = await load(text);
        assert.notEqual(answer, "hang", `no answer in ${caseTimeoutMs} ms`);
        if (answer === "hang") return;
        if (answer.kind === "crash") assert.fail(`the loader threw: ${answer.error}`);
        if (answer.kind === "valid") {
          assert.ok(
            answer.samePositioned,
            "the fast and the positioned path gave different configs",
          );
          return;
        }
        const lines = text.split("\n");
        assert.ok(answer.problems.length > 0, "a ConfigError with no problem");
        for (const { file, line, col, message } of answer.problems) {
          const at = `${file}:${line}:${col} ${message}`;
          assert.equal(file, FILE, at);
          assert.ok(
            Number.isInteger(line) && line >= 1 && line <= lines.length,
            `line outside the file: ${at}`,
          );
          const length = lines[line - 1]!.length;
          assert.ok(
            Number.isInteger(col) && col >= 1 && col <= length + 1,
            `column outside line ${line}: ${at}`,
          );
          assert.ok(message.trim().length > 0, `no message: ${at}`);
        }
      }),
      300,
    );
  });
});
