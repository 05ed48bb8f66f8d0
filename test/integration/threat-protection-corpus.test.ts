// threat-protection's patterns against corpora of requests (test/fixtures/threat-corpus),
// sent over real sockets through a gateway in block mode: ordinary JSON API traffic
// (apostrophes in names, SQL words in prose, Markdown and HTML-ish text, file names, URLs)
// must pass, attacks (OWASP-style payloads in a query argument, a JSON string or a header)
// must be refused. Prints the false-positive and detection rates (docs/plugins.md states
// them) and fails when they pass the bounds below.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

interface CorpusRequest {
  method: "GET" | "POST" | "PUT" | "PATCH";
  path: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: unknown;
  category?: string;
}

/** Most ordinary requests refused, and fewest attacks caught, that the rules may come to. */
const maxFalsePositiveRate = 0.01;
const minDetectionRate = 0.95;
/** Attacks the rules were not written against (never tuned on): a floor, not a goal. */
const minUnseenDetectionRate = 0.75;

async function corpus(name: string): Promise<CorpusRequest[]> {
  const text = await readFile(
    new URL(`../fixtures/threat-corpus/${name}`, import.meta.url),
    "utf8",
  );
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as CorpusRequest);
}

async function send(gw: RunningGateway, entry: CorpusRequest): Promise<number> {
  const query = entry.query
    ?.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join("&");
  const res = await request(`${gw.url}${entry.path}${query ? `?${query}` : ""}`, {
    method: entry.method,
    headers: {
      ...entry.headers,
      ...(entry.body !== undefined && { "content-type": "application/json" }),
    },
    body: entry.body === undefined ? undefined : JSON.stringify(entry.body),
  });
  await res.body.dump();
  return res.statusCode;
}

/** Sends every request; the ones refused with 403, as `category path` lines. */
async function refused(gw: RunningGateway, entries: CorpusRequest[]): Promise<CorpusRequest[]> {
  const out: CorpusRequest[] = [];
  for (const entry of entries) {
    const status = await send(gw, entry);
    assert.ok(status === 200 || status === 403, `${entry.path}: ${status}`);
    if (status === 403) out.push(entry);
  }
  return out;
}

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;

describe("threat-protection corpora", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream((req, res) => {
      req.resume().on("end", () => res.end("{}"));
    });
    gw = await startGateway(
      testConfig({
        services: [{ name: "api", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "api",
            plugins: [{ name: "threat-protection", config: { patterns: { mode: "block" } } }],
          },
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  it(`refuses at most ${maxFalsePositiveRate * 100}% of ordinary requests`, async () => {
    const benign = await corpus("benign.jsonl");
    assert.ok(benign.length >= 300, "a few hundred ordinary requests");
    const wrong = await refused(gw, benign);
    console.log(
      `false positives: ${wrong.length} of ${benign.length} ordinary requests (${percent(wrong.length, benign.length)})`,
    );
    for (const entry of wrong) console.log(`  refused: ${JSON.stringify(entry)}`);
    assert.ok(wrong.length / benign.length <= maxFalsePositiveRate);
  });

  for (const [file, floor] of [
    ["attacks.jsonl", minDetectionRate],
    ["attacks-unseen.jsonl", minUnseenDetectionRate],
  ] as const) {
    it(`refuses at least ${floor * 100}% of the attacks in ${file}`, async () => {
      const attacks = await corpus(file);
      const caught = new Set(await refused(gw, attacks));
      const missed = attacks.filter((entry) => !caught.has(entry));
      const categories = [...new Set(attacks.map((entry) => entry.category!))];
      const rates = categories.map((category) => {
        const of = attacks.filter((entry) => entry.category === category);
        return `${category} ${of.filter((entry) => caught.has(entry)).length}/${of.length}`;
      });
      console.log(
        `detection (${file}): ${caught.size} of ${attacks.length} attacks (${percent(caught.size, attacks.length)}); ${rates.join(", ")}`,
      );
      for (const entry of missed) console.log(`  missed: ${JSON.stringify(entry)}`);
      assert.ok(caught.size / attacks.length >= floor);
    });
  }
});
