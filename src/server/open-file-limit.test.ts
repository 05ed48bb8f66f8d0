// maxClientConnections: auto is derived from the soft open-file limit in /proc/self/limits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  defaultMaxClientConnections,
  fallbackMaxClientConnections,
  parseOpenFileLimit,
  resolveMaxClientConnections,
} from "./open-file-limit.ts";

/** /proc/self/limits as Linux writes it (soft 1024, hard 524288: systemd's defaults). */
const procLimits = (soft: string, hard: string) =>
  [
    "Limit                     Soft Limit           Hard Limit           Units     ",
    "Max cpu time              unlimited            unlimited            seconds   ",
    "Max processes             96367                96367                processes ",
    `Max open files            ${soft.padEnd(21)}${hard.padEnd(21)}files     `,
    "Max locked memory         8388608              8388608              bytes     ",
    "",
  ].join("\n");

describe("open-file limit", () => {
  it("reads the soft Max open files value", () => {
    assert.equal(parseOpenFileLimit(procLimits("1024", "524288")), 1024);
    assert.equal(parseOpenFileLimit(procLimits("1048576", "1048576")), 1_048_576);
    assert.equal(parseOpenFileLimit(procLimits("unlimited", "unlimited")), undefined);
    assert.equal(
      parseOpenFileLimit("Limit Soft Limit\nMax processes 10 10 processes\n"),
      undefined,
    );
  });

  it("leaves a quarter (at most 1024) for the process and halves the rest for upstreams", () => {
    assert.equal(defaultMaxClientConnections(256), 96);
    assert.equal(defaultMaxClientConnections(1024), 384);
    assert.equal(defaultMaxClientConnections(20_000), 9488);
    assert.equal(defaultMaxClientConnections(65_536), 32_256);
    assert.equal(defaultMaxClientConnections(1_048_576), 523_776);
    assert.equal(defaultMaxClientConnections(1), 1);
    // Client and upstream connections together never reach the limit.
    for (const limit of [64, 256, 1024, 4096, 65_536, 1_048_576])
      assert.ok(2 * defaultMaxClientConnections(limit) < limit, `${limit}`);
  });

  it("resolves auto from the limits text, an explicit value as set, and falls back without /proc", () => {
    assert.deepEqual(
      resolveMaxClientConnections("auto", () => procLimits("65536", "65536")),
      {
        max: 32_256,
        openFiles: 65_536,
        derived: 32_256,
      },
    );
    assert.deepEqual(
      resolveMaxClientConnections(50_000, () => procLimits("65536", "65536")),
      {
        max: 50_000,
        openFiles: 65_536,
        derived: 32_256,
      },
    );
    assert.equal(resolveMaxClientConnections(0, () => procLimits("1024", "1024")).max, 0);
    assert.deepEqual(
      resolveMaxClientConnections("auto", () => undefined),
      {
        max: fallbackMaxClientConnections,
        openFiles: undefined,
        derived: fallbackMaxClientConnections,
      },
    );
  });
});
