// docs/sagas.md's worked example is examples/sagas/place-order.ts, shown whole; run as the
// doc says, it prints what the doc shows, on PGlite (twice: the second run finds every saga
// in the log) and on PostgreSQL. The doc's opening snippet is lines of that file, as they are
// there, so it runs with it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createTestDatabase } from "../helpers/postgres.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const example = join(root, "examples/sagas/place-order.ts");
const doc = readFileSync(join(root, "docs/sagas.md"), "utf8");
const section = doc.slice(doc.indexOf("## Worked example"));

function block(language: string): string {
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(section);
  assert.ok(match, `docs/sagas.md's worked example has a ${language} block`);
  return match[1]!;
}

describe("docs/sagas.md: the worked example", () => {
  const cwd = mkdtempSync(join(tmpdir(), "gatehouse-saga-example-"));
  after(() => rmSync(cwd, { recursive: true, force: true }));
  const [command, ...printed] = block("console").trimEnd().split("\n");

  async function runExample(env: Record<string, string> = {}): Promise<string> {
    const { DATABASE_URL: _ignored, ...inherited } = process.env;
    const { stdout } = await run(process.execPath, [example], {
      cwd,
      env: { ...inherited, ...env },
      timeout: 60_000,
    });
    return stdout.trimEnd();
  }

  it("opens with lines of the example file, as they are there", () => {
    const opening = /```ts\n([\s\S]*?)```/.exec(doc.slice(0, doc.indexOf("## Worked example")));
    assert.ok(opening, "docs/sagas.md opens with a ts block");
    assert.ok(
      readFileSync(example, "utf8").includes(opening[1]!),
      `the opening snippet is not part of examples/sagas/place-order.ts:\n${opening[1]}`,
    );
  });

  it("shows the example file whole", () => {
    assert.equal(block("ts"), readFileSync(example, "utf8"));
    assert.equal(command, "$ node examples/sagas/place-order.ts");
  });

  it("prints what the doc shows, and the same when run again (PGlite)", async () => {
    assert.equal(await runExample(), printed.join("\n"));
    assert.equal(await runExample(), printed.join("\n"));
  });

  it("prints what the doc shows on PostgreSQL", async () => {
    const database = await createTestDatabase();
    try {
      assert.equal(await runExample({ DATABASE_URL: database.url }), printed.join("\n"));
    } finally {
      await database.drop();
    }
  });
});
