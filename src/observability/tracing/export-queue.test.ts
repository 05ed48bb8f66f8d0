// The export queue's batching rules, watched through the export requests it sends.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SpanExportQueue } from "./export-queue.ts";

/** A queue whose exports are parsed and kept; `release` finishes the export under way. */
function recordingQueue(options: {
  maxQueueSize: number;
  maxBatchSize: number;
  exportDelay: number;
}) {
  const batches: string[][] = [];
  let release = () => {};
  const queue = new SpanExportQueue({ ...options, head: '{"spans":[', tail: "]}" }, (body) => {
    batches.push((JSON.parse(body.toString("utf8")) as { spans: string[] }).spans);
    return new Promise<boolean>((resolve) => {
      release = () => resolve(true);
    });
  });
  return { queue, batches, release: () => release() };
}

/** Queues one span: a JSON string, the way the encoder writes into the queue. */
function add(queue: SpanExportQueue, text: string): void {
  const out = queue.begin();
  if (out === undefined) return;
  out.string(text);
  queue.end();
}

const span = (i: number) => `span-${i}`;

describe("span export queue", () => {
  it("sends a full batch at once and the rest after the delay", async () => {
    const { queue, batches, release } = recordingQueue({
      maxQueueSize: 100,
      maxBatchSize: 3,
      exportDelay: 20,
    });
    for (let i = 0; i < 4; i++) add(queue, span(i));
    assert.deepEqual(batches, [["span-0", "span-1", "span-2"]]);
    release();
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(batches[1], ["span-3"]);
    release();
    await queue.close();
  });

  it("drops spans past the queue size while an export is under way, and counts them", async () => {
    const { queue, batches, release } = recordingQueue({
      maxQueueSize: 4,
      maxBatchSize: 2,
      exportDelay: 1000,
    });
    for (let i = 0; i < 10; i++) add(queue, span(i));
    // Two left in the first export; four wait; four are dropped.
    assert.equal(queue.dropped, 4);
    const closed = queue.close();
    for (let i = 0; i < 4 && batches.length <= 3; i++) {
      release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    release();
    await closed;
    assert.deepEqual(batches, [
      ["span-0", "span-1"],
      ["span-2", "span-3"],
      ["span-4", "span-5"],
    ]);
    add(queue, span(99));
    assert.equal(queue.dropped, 5);
  });

  it("keeps any text intact, however long, across reused buffers", async () => {
    const { queue, batches, release } = recordingQueue({
      maxQueueSize: 100,
      maxBatchSize: 2,
      exportDelay: 1000,
    });
    const texts = ["é\u2028\u{1f600}", "x".repeat(200_000), '\\"', "short"];
    for (const text of texts) add(queue, text);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await queue.flush();
    assert.deepEqual(batches.flat(), texts);
  });
});
