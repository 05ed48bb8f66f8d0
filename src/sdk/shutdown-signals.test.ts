// On SIGTERM the SDK first drains (registrations), then lets event handlers and saga steps
// finish, then closes buses, then stores, then leaves the
// process to the application's own listener when it has one. The signal is real, sent to this
// process; the test's own listener keeps it alive.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { until } from "../../test/helpers/until.ts";
import { onShutdownSignal } from "./shutdown-signals.ts";

describe("SDK shutdown on signals", () => {
  it("runs the stages in order (drain, finish, disconnect, close), each to its end, then stops listening", async () => {
    const steps: string[] = [];
    const application = () => steps.push("application");
    process.on("SIGTERM", application);
    try {
      onShutdownSignal("close", async () => {
        steps.push("close store");
      });
      onShutdownSignal("disconnect", async () => {
        steps.push("close bus");
      });
      onShutdownSignal("finish", async () => {
        steps.push("finish start");
        await new Promise((resolve) => setTimeout(resolve, 30));
        steps.push("finish end");
      });
      onShutdownSignal("drain", async () => {
        steps.push("drain start");
        await new Promise((resolve) => setTimeout(resolve, 50));
        steps.push("drain end");
      });
      const takenBack = onShutdownSignal("close", async () => {
        steps.push("taken back");
      });
      takenBack();
      assert.equal(process.listenerCount("SIGTERM"), 2);
      process.kill(process.pid, "SIGTERM");
      await until(() => steps.includes("close store"), "the close task", 5_000);
      assert.deepEqual(
        steps.filter((step) => step !== "application"),
        ["drain start", "drain end", "finish start", "finish end", "close bus", "close store"],
      );
      await until(() => process.listenerCount("SIGTERM") === 1, "the SDK to stop listening", 5_000);
      assert.ok(steps.includes("application"), "the application's listener heard it too");
    } finally {
      process.off("SIGTERM", application);
    }
  });
});
