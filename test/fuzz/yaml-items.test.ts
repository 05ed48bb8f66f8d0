// Property test of reading a YAML config item by item (config/yaml-items): a config with
// block sequences of flow items, block items with block scalars and comments, and a
// sequence at column 0, broken by deleting, repeating, swapping and inserting lines and
// characters (YAML's indicators among them), then read twice in a row as a reload reads
// it (the second read takes its items from the first). Each read gives exactly what the
// whole text parses to, or nothing when the whole text does not parse.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { readData } from "../../src/config/fast-yaml.ts";
import { cutItems } from "../../src/config/yaml-items.ts";
import { checkProperty } from "../helpers/fuzz.ts";

const lines = [
  "gateway:",
  "  listen: [{ port: 8080 }]",
  "services:",
  "  - name: s",
  "    targets: [{ url: http://127.0.0.1:9001 }]",
  "routes:",
  ...Array.from({ length: 8 }, (_, i) =>
    i % 2 === 0
      ? [`  - { name: r${i}, service: s, match: { paths: ["/r${i}/*"] } }`]
      : [
          `  - name: r${i}`,
          "    service: s",
          "    description: |",
          `      text ${i}`,
          "      - not an item",
          "    # a comment",
        ],
  ).flat(),
  "consumers:",
  ...Array.from({ length: 3 }, (_, i) => [`- name: c${i}`, `  keys: [k${i}]`]).flat(),
  "plugins: []",
];

const pieces = [
  "- ",
  "  ",
  ": ",
  "{",
  "}",
  "[",
  "]",
  ",",
  '"',
  "'",
  "|",
  "#",
  "a",
  "~",
  "&a ",
  "*a",
  "!!str ",
  "---",
  "%",
  "? ",
];

/** One change to the lines: delete, repeat, swap, or insert or delete characters in one. */
const edit = fc.tuple(
  fc.integer({ min: 0, max: 4 }),
  fc.nat(),
  fc.nat(),
  fc.constantFrom(...pieces),
);

function applied(edits: [number, number, number, string][]): string {
  const text = [...lines];
  for (const [kind, a, b, piece] of edits) {
    const at = a % text.length;
    const line = text[at]!;
    const cut = b % (line.length + 1);
    if (kind === 0) text.splice(at, 1);
    else if (kind === 1) text.splice(at, 0, text[b % text.length]!);
    else if (kind === 2) [text[at], text[b % text.length]] = [text[b % text.length]!, line];
    else if (kind === 3) text[at] = line.slice(0, cut) + piece + line.slice(cut);
    else text[at] = line.slice(0, cut) + line.slice(cut + 1 + (b % 3));
    if (text.length === 0) text.push("gateway: {}");
  }
  return `${text.join("\n")}\n`;
}

describe("config items read apart, properties", () => {
  it("read twice, a broken config gives what its whole text parses to", async () => {
    let parsed = 0;
    let runs = 0;
    await checkProperty(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const text = applied(edits);
        // A tab in a comment changes no data and stops the cut: this is the whole parse.
        assert.equal(cutItems(`${text}#\t\n`), undefined);
        const whole = readData(`${text}#\t\n`);
        runs++;
        if (whole) parsed++;
        for (let read = 0; read < 2; read++) {
          const items = readData(text);
          assert.deepStrictEqual(items?.data, whole?.data);
          assert.equal(items?.nonStringKey, whole?.nonStringKey);
        }
      }),
      2000,
    );
    // Most broken texts still parse: the property is about them, not about refusals.
    assert.ok(parsed > runs / 4, `${parsed} of ${runs} cases parsed`);
  });
});
