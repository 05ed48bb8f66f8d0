// The node's connection cap as its threads share it: exact admission over several threads,
// places given back on close and when a thread ends, one warning per burst of refusals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { until } from "../../test/helpers/until.ts";
import {
  ConnectionLimit,
  createConnectionCounts,
  forgetThreadConnections,
} from "./connection-limit.ts";

/** A real pino logger whose lines are kept. */
function collectingLog() {
  const lines: { level: number; msg: string; refused?: number }[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe("ConnectionLimit", () => {
  it("admits exactly max connections over all threads, and frees a place on close", () => {
    const counts = createConnectionCounts(2);
    const { log } = collectingLog();
    const threads = [1, 2].map((thread) => new ConnectionLimit({ max: 3, counts, thread, log }));
    const admitted = [0, 1, 0, 1, 0, 1].map((i) => threads[i]!.admit());
    assert.deepEqual(admitted, [true, true, true, false, false, false]);
    threads[1]!.release();
    assert.equal(threads[0]!.admit(), true, "the place freed in one thread is free in the other");
    assert.equal(threads[1]!.admit(), false);
  });

  it("takes a thread that ended out of the count", () => {
    const counts = createConnectionCounts(2);
    const { log } = collectingLog();
    const one = new ConnectionLimit({ max: 2, counts, thread: 1, log });
    const two = new ConnectionLimit({ max: 2, counts, thread: 2, log });
    assert.equal(one.admit(), true);
    assert.equal(one.admit(), true);
    assert.equal(two.admit(), false);
    forgetThreadConnections(counts, 1);
    assert.equal(two.admit(), true);
    assert.equal(two.admit(), true);
    assert.equal(two.admit(), false);
  });

  it("counts nothing and refuses nothing with max 0", () => {
    const { log } = collectingLog();
    const limit = new ConnectionLimit({
      max: 0,
      counts: createConnectionCounts(0),
      thread: 0,
      log,
    });
    for (let i = 0; i < 1000; i++) assert.equal(limit.admit(), true);
  });

  it("logs a burst of refusals once, from one thread, then its count when it ends", async () => {
    const counts = createConnectionCounts(2);
    const { log, lines } = collectingLog();
    let refused = 0;
    const options = { max: 1, counts, log, quietMs: 100, onRefused: () => refused++ };
    const one = new ConnectionLimit({ ...options, thread: 1 });
    const two = new ConnectionLimit({ ...options, thread: 2 });
    assert.equal(one.admit(), true);
    for (let i = 0; i < 10; i++) assert.equal((i % 2 ? one : two).admit(), false);
    assert.equal(refused, 10);
    assert.equal(lines.length, 1, "one warning for the burst, whichever thread refused");
    assert.match(lines[0]!.msg, /maxClientConnections \(1\)/);
    await until(() => lines.length === 2, "the burst's summary");
    assert.equal(lines[1]!.refused, 10);
    // A later burst is logged again.
    assert.equal(one.admit(), false);
    assert.equal(lines.length, 3);
    two.close();
    one.close();
    assert.equal(lines.length, 4, "stopping ends the burst and says so");
  });
});
