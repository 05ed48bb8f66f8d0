/**
 * @module bench/transcode-micro
 * What grpc-transcode costs a small request, in process: matching the path to its method,
 * mapping the JSON body and path variables to the request message, and mapping the response
 * message back to JSON. CPU per request, median of 7 batches. The target is ≤ 30 µs.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Transcoder } from "../src/grpc/transcoder.ts";
import { fixtureProtoDir } from "../test/helpers/library-protos.ts";
import type { Check } from "./report.ts";

export interface TranscodeCost {
  cpuUs: number;
  wallUs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Matches, maps a CreateBook request and its Book answer, `perBatch` times per batch. */
export function measureTranscodeCost(perBatch = 20_000): TranscodeCost {
  const created = Transcoder.create({
    protos: ["library/v1/library.proto"],
    includeDirs: ["."],
    baseDir: fixtureProtoDir,
  });
  if (!created.ok) throw new Error(JSON.stringify(created.problems));
  const { transcoder } = created;
  const Book = transcoder.protos.registry.getMessage("library.v1.Book")!;
  const answer = toBinary(
    Book,
    create(Book, { name: "shelves/7/books/1", title: "Dune", pageCount: 412n }),
  );
  const body = JSON.stringify({ title: "Dune", author: "Frank Herbert", pageCount: 412 });
  const once = () => {
    const found = transcoder.match("POST", "/v1/shelves/7/books");
    if (found.kind !== "method") throw new Error("no match");
    const mapped = found.method.mapRequest({ variables: found.variables, query: "", body });
    if (!mapped.ok) throw new Error(mapped.error.message);
    const json = found.method.mapResponse(answer);
    if (!json.ok) throw new Error(json.error);
  };
  for (let i = 0; i < perBatch; i++) once();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let batch = 0; batch < 7; batch++) {
    const started = performance.now();
    const before = process.cpuUsage();
    for (let i = 0; i < perBatch; i++) once();
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / perBatch);
    wall.push(((performance.now() - started) * 1000) / perBatch);
  }
  return { cpuUs: median(cpu), wallUs: median(wall) };
}

export function formatTranscodeLine(cost: TranscodeCost): string {
  return `grpc-transcode (match, JSON → message, message → JSON, small request): ${cost.cpuUs.toFixed(2)} µs cpu, ${cost.wallUs.toFixed(2)} µs wall`;
}

export function transcodeChecks(cost: TranscodeCost | undefined): Check[] {
  if (!cost) return [];
  return [
    {
      claim: "grpc-transcode costs a small request <= 30 µs CPU",
      verdict: cost.cpuUs <= 30 ? "PASS" : "FAIL",
      detail: `${cost.cpuUs.toFixed(2)} µs`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cost = measureTranscodeCost();
  console.log(formatTranscodeLine(cost));
  console.log(
    transcodeChecks(cost)
      .map((c) => `${c.verdict}  ${c.claim}: ${c.detail}`)
      .join("\n"),
  );
}
