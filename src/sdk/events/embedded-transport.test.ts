// The embedded transport leaves nothing behind that keeps a process alive: a script whose
// handler failed (its event waiting out a long backoff) ends once it has closed its bus.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const sdk = fileURLToPath(new URL("../index.ts", import.meta.url));

const script = `
import { events } from ${JSON.stringify(sdk)};
const bus = await events.connect(undefined, { backoff: ["1h"] });
let failed;
const failure = new Promise((resolve) => { failed = resolve; });
const subscription = bus.subscribe({ durable: "exit-check", subject: "exitcheck.made" }, async () => {
  failed();
  throw new Error("fails, to be redelivered in an hour");
});
await subscription.ready;
await bus.publish("exitcheck.made", { n: 1 });
await failure;
await bus.close();
console.log("closed");
`;

describe("embedded transport", () => {
  it("lets the process end once the bus is closed, though a nakked event waits for its backoff", async () => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const deadline = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      const [code, signal] = await once(child, "exit");
      assert.equal(
        signal,
        null,
        `the process had to be killed: it did not end by itself\n${output}`,
      );
      assert.equal(code, 0, output);
      assert.match(output, /closed/);
    } finally {
      clearTimeout(deadline);
    }
  });
});
