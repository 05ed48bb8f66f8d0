import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isoTime } from "./instance-view.ts";

describe("isoTime", () => {
  it("writes what Date#toISOString writes, within a second and across seconds", () => {
    const start = Date.UTC(2026, 0, 31, 23, 59, 58, 991);
    // Steps that land on every width of milliseconds, fractions, and new seconds, minutes, days.
    for (let ms = start; ms < start + 3_000; ms += 7.3)
      assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
    for (const ms of [
      0,
      1,
      999,
      1_000,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10_000, 0, 1),
    ])
      assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  });
});
