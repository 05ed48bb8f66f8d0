// The attack rules: every rule's `needs` holds for every payload of the corpora it matches
// (so skipping a value without those characters never misses), each rule catches an attack
// of its own, and ordinary text that looks a little like one passes. Percent-decoding is
// done once, leniently.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { PatternSet } from "./pattern-set.ts";
import { percentDecode } from "./percent-decode.ts";
import { threatCategories, threatRules } from "./rules.ts";

const corpus = (name: string): string[] =>
  readFileSync(new URL(`../../../test/fixtures/threat-corpus/${name}`, import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const entry = JSON.parse(line) as {
        query?: [string, string][];
        body?: { text: string };
        headers?: { referer: string };
      };
      return (
        entry.query?.[0]?.[1] ?? entry.body?.text ?? percentDecode(entry.headers!.referer, 4096)
      );
    });

const set = new PatternSet(threatCategories);
const ids = (text: string) => set.match(text)?.map((rule) => rule.id) ?? [];

describe("threat rules", () => {
  it("match only values that have a character the rule says it needs", () => {
    const payloads = [...corpus("attacks.jsonl"), ...corpus("attacks-unseen.jsonl")];
    for (const rule of threatRules) {
      if (rule.needs === "") continue;
      const pattern = new RegExp(rule.pattern.source, "i");
      for (const payload of payloads.filter((text) => pattern.test(text))) {
        assert.ok(
          [...rule.needs].some((char) => payload.includes(char)),
          `${rule.id}: ${payload}`,
        );
      }
    }
  });

  it("each catch an attack of their own", () => {
    const cases: Record<string, string> = {
      "sqli-union-select": "0 UNION ALL SELECT password FROM users",
      "sqli-tautology": "' or 'a'='a",
      "sqli-order-by": "1 ORDER BY 9--",
      "sqli-comment": "admin'--",
      "sqli-stacked-query": "1; DROP TABLE users",
      "sqli-function": "1 AND SLEEP(5)",
      "sqli-catalog": "SELECT name FROM sqlite_master",
      "xss-script-tag": "<script src=//x>",
      "xss-event-handler": "<img src=x onerror=f()>",
      "xss-script-uri": "javascript:alert(1)",
      "xss-embed-tag": "<embed src=x>",
      "xss-script-call": "alert(document.domain)",
      "traversal-dot-dot": "../../secret",
      "traversal-encoded": "..%2f..%2fsecret",
      "traversal-sensitive-file": "/etc/shadow",
      "traversal-null-byte": "a.php\u0000.png",
      "command-chained": "x; whoami",
      "command-with-arguments": "x && cat /etc/hosts",
      "command-substitution": "$(id)",
      "command-shell-path": "x | /bin/sh",
    };
    assert.deepEqual(Object.keys(cases).sort(), threatRules.map((rule) => rule.id).sort());
    for (const [id, text] of Object.entries(cases))
      assert.ok(ids(text).includes(id), `${id}: ${text}`);
  });

  it("pass ordinary text that only looks a little like an attack", () => {
    for (const text of [
      "Siobhán O'Brien",
      "Please select a plan from the drop-down; or call us.",
      "Rock 'n' roll -- and more",
      "JavaScript: The Good Parts",
      "Run `ls -la` and paste the output",
      "See ../docs/setup.md in the repo",
      "Tom & Jerry; ping me later",
      "Is 3 < 5 and 7 > 2?",
      "report.final.v2.pdf",
      "https://example.com/search?q=a&b=c",
      "<b>bold</b> and <a href='https://example.com'>a link</a>",
    ]) {
      assert.deepEqual(ids(text), [], text);
    }
  });

  it("percent-decode once, leniently, within the length", () => {
    assert.equal(percentDecode("%252e%2e", 100), "%2e.");
    assert.equal(percentDecode("a+b%20c", 100, true), "a b c");
    assert.equal(percentDecode("a+b", 100), "a+b");
    assert.equal(percentDecode("%zz%3Cx%E9", 100), "%zz<x\ufffd");
    assert.equal(percentDecode("%3C".repeat(10), 6), "<<");
  });
});
