// Reading a config item by item (and again after an edit, items taken from the last read)
// gives what the `yaml` package reads from the whole text, or leaves the text to be parsed
// whole when it cannot be cut plainly.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { load } from "js-yaml";
import { parse } from "yaml";
import { readData } from "./fast-yaml.ts";
import { cutItems } from "./yaml-items.ts";

const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

/** readData's result for `text` equals the positioned parser's, read twice (cold, then from the items kept). */
function sameAsWhole(text: string): void {
  const expected = parse(text, { uniqueKeys: true });
  for (let read = 0; read < 2; read++) assert.deepStrictEqual(readData(text)?.data, expected);
}

/** js-yaml's reading of the whole text (the same data here), undefined where it refuses it. */
function wholeOrUndefined(text: string): unknown {
  try {
    return load(text);
  } catch {
    return undefined;
  }
}

const base = [
  "# a comment at the top",
  "gateway:",
  "  listen: [{ port: 8080 }]",
  "services:",
  "  - name: users",
  "    targets: [{ url: http://127.0.0.1:9001 }]",
];

describe("config items read apart", () => {
  it("cuts each top-level block sequence into its items, the rest into the skeleton", () => {
    const cut = cutItems(
      yaml(
        ...base,
        "routes:",
        "  - { name: a, service: users }",
        "  - name: b",
        "    service: users",
      ),
    );
    assert.deepStrictEqual(
      cut?.sections.map(({ key, items }) => [key, items.length]),
      [
        ["services", 1],
        ["routes", 2],
      ],
    );
    assert.equal(cut?.skeleton, yaml(...base.slice(0, 4), "routes:"));
  });

  it("reads flow and block items, comments, blank lines and block scalars as the whole text reads", () => {
    sameAsWhole(
      yaml(
        ...base,
        "routes:",
        "  # before the first item",
        "  - { name: a, service: users, match: { paths: ['/a/*'] } }",
        "",
        "  - name: b",
        "    description: |",
        "      kept as text:",
        "      # not a comment",
        "      - not an item",
        "# a comment at column 0",
        "    service: users",
        "  - name: c",
        "    tags:",
        "      - one",
        "      - two",
        "    service: users",
        "plugins: []",
      ),
    );
  });

  it("reads a sequence written at column 0 under its key", () => {
    sameAsWhole(
      yaml(...base, "routes:", "- name: a", "  service: users", "- name: b", "consumers: []"),
    );
  });

  it("takes unchanged items from the last read and parses the changed ones", () => {
    const routes = (names: string[]) =>
      names.map((name) => `  - { name: ${name}, service: users }`);
    sameAsWhole(yaml(...base, "routes:", ...routes(["a", "b", "c"])));
    sameAsWhole(yaml(...base, "routes:", ...routes(["a", "x", "c", "d"])));
    sameAsWhole(yaml(...base, "routes:", ...routes(["d", "c"])));
  });

  it("hands out copies: changing what it read does not change the next read", () => {
    const text = yaml(...base, "routes:", "  - { name: a, service: users }");
    type Read = { routes: { name: string }[] };
    const first = readData(text)!.data as Read;
    first.routes[0]!.name = "changed";
    assert.equal((readData(text)!.data as Read).routes[0]!.name, "a");
  });

  it("leaves to the whole parse an item that runs into the next one", () => {
    // An unclosed flow mapping swallows the next `- ` line in js-yaml's reading of the whole.
    const text = yaml(...base, "routes:", "  - { name: a,", "  - b }");
    assert.ok(cutItems(text), "it is cut");
    assert.deepStrictEqual(readData(text)?.data, wholeOrUndefined(text));
  });

  it("does not cut anchors, tabs, several documents, or items indented unevenly", () => {
    const refused = [
      yaml(...base, "routes:", "  - &r { name: a, service: users }", "  - *r"),
      yaml(...base, "routes:", "  - name: a", "\tservice: users"),
      yaml("---", ...base, "routes:", "  - { name: a }", "---", "routes: []"),
      yaml(...base, "routes:", "  - { name: a }", " - { name: b }"),
      yaml(...base, "routes:", "  - { name: a }", "  name: b"),
      `${yaml(...base, "routes:")}  - { name: a }`,
    ];
    for (const text of refused) assert.equal(cutItems(text), undefined, text);
  });

  it("does not cut a text whose top-level keys repeat or hide inside an open value", () => {
    assert.equal(readData(yaml("routes:", "  - a", "routes:", "  - b")), undefined);
    const hidden = yaml("gateway: {", "routes:", "  - a", "}");
    assert.deepStrictEqual(readData(hidden)?.data, wholeOrUndefined(hidden));
  });
});
