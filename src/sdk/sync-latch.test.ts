// The latch the instance sources keep: a wait ends at the first answer, at its own
// timeout, or when the source stops, whichever comes first.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SyncLatch } from "./sync-latch.ts";

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = await Promise.race([promise.then(() => true as const), late]);
  clearTimeout(timer);
  return settled;
}

describe("SyncLatch", () => {
  it("ends every wait when it opens, and later waits at once", async () => {
    const latch = new SyncLatch();
    const waits = [latch.wait(60_000), latch.wait(60_000)];
    assert.equal(latch.isOpen, false);
    assert.equal(await settlesWithin(waits[0]!, 20), false, "waits until it opens");
    latch.open();
    assert.equal(latch.isOpen, true);
    assert.equal(
      await settlesWithin(
        Promise.all(waits).then(() => {}),
        1_000,
      ),
      true,
    );
    assert.equal(await settlesWithin(latch.wait(60_000), 1_000), true);
  });

  it("ends a wait at its timeout while it stays shut", async () => {
    const latch = new SyncLatch();
    assert.equal(await settlesWithin(latch.wait(10), 1_000), true);
    assert.equal(latch.isOpen, false);
    assert.equal(await settlesWithin(latch.wait(0), 20), true, "no time to wait: at once");
  });

  it("ends every wait when the source stops, and later waits at once, shut", async () => {
    const latch = new SyncLatch();
    const wait = latch.wait(60_000);
    latch.stop();
    assert.equal(await settlesWithin(wait, 1_000), true);
    assert.equal(await settlesWithin(latch.wait(60_000), 1_000), true);
    assert.equal(latch.isOpen, false);
  });
});
