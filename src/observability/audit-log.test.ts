// The audit trail with real files: JSON lines appended (never truncated, owner-only), secrets
// redacted, the process log used when no file is set, and a write failure logged, not thrown.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { processSecrets } from "../config/secret-values.ts";
import { type AuditRecord, AuditTrail } from "./audit-log.ts";
import { createLogger, type Logger } from "./logger.ts";

/** A pino logger whose lines are kept, parsed. */
function capturedLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(
    { level: "info", destination: "stdout" },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

const fixed = (iso: string) => () => new Date(iso);

async function records(path: string): Promise<AuditRecord[]> {
  const text = await readFile(path, "utf8");
  assert.ok(text.endsWith("\n"), "every record ends its line");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AuditRecord);
}

describe("AuditTrail", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-audit-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("appends one JSON line per record, timed by the clock, in a file only its owner reads", async () => {
    const path = join(dir, "lines.jsonl");
    const { log, lines } = capturedLog();
    const trail = new AuditTrail({ path }, log, fixed("2026-11-24T01:02:03.000Z"));
    trail.record({
      action: "route.create",
      result: "accepted",
      source: "admin",
      actor: "ops-key",
      remoteAddress: "127.0.0.1",
      requestId: "req-1",
      version: 4,
      previousVersion: 3,
      hash: "abcdef0123456789",
      resources: [{ kind: "route", name: "users-api", change: "created" }],
      status: 201,
    });
    // Written before record() returned: read back at once, without awaiting anything.
    const [first, ...rest] = await records(path);
    assert.equal(rest.length, 0);
    assert.deepEqual(first, {
      time: "2026-11-24T01:02:03.000Z",
      action: "route.create",
      result: "accepted",
      source: "admin",
      actor: "ops-key",
      remoteAddress: "127.0.0.1",
      requestId: "req-1",
      version: 4,
      previousVersion: 3,
      hash: "abcdef0123456789",
      resources: [{ kind: "route", name: "users-api", change: "created" }],
      status: 201,
    });
    trail.record({ action: "config.reload", result: "unchanged", source: "file", actor: "SIGHUP" });
    assert.deepEqual(
      (await records(path)).map((r) => `${r.action} ${r.result}`),
      ["route.create accepted", "config.reload unchanged"],
    );
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(lines.length, 0, "nothing goes to the process log when the file is written");
    await trail.close();
  });

  it("never truncates: a second trail on the same file appends after the first", async () => {
    const path = join(dir, "two.jsonl");
    await writeFile(path, `${JSON.stringify({ action: "earlier" })}\n`);
    const { log } = capturedLog();
    const one = new AuditTrail({ path }, log, fixed("2026-11-24T01:00:00.000Z"));
    one.record({
      action: "config.reload",
      result: "accepted",
      source: "file",
      actor: "file-watch",
    });
    await one.close();
    const two = new AuditTrail({ path }, log, fixed("2026-11-24T02:00:00.000Z"));
    two.record({ action: "config.rollback", result: "accepted", source: "admin", actor: "k1" });
    await two.close();
    assert.deepEqual(
      (await records(path)).map((r) => [r.action, r.time]),
      [
        ["earlier", undefined],
        ["config.reload", "2026-11-24T01:00:00.000Z"],
        ["config.rollback", "2026-11-24T02:00:00.000Z"],
      ],
    );
  });

  it("writes a substituted secret as [redacted], wherever it is in the record", async () => {
    const secret = "audit-secret-91c2e";
    processSecrets.add(secret, "file");
    const path = join(dir, "secret.jsonl");
    const { log } = capturedLog();
    const trail = new AuditTrail({ path }, log);
    trail.record({
      action: "config.replace",
      result: "rejected",
      source: "admin",
      actor: "ops-key",
      problems: [`gatehouse.yaml:12:7: consumers[0].credentials.keys[0]: got "${secret}"`],
      status: 400,
    });
    const text = await readFile(path, "utf8");
    assert.ok(!text.includes(secret), text);
    const [record] = await records(path);
    assert.deepEqual(record!.problems, [
      'gatehouse.yaml:12:7: consumers[0].credentials.keys[0]: got "[redacted]"',
    ]);
  });

  it("without a path, sends each record to the process log", () => {
    const { log, lines } = capturedLog();
    const trail = new AuditTrail({}, log, fixed("2026-11-24T01:02:03.000Z"));
    trail.record({
      action: "config.reload",
      result: "rejected",
      source: "file",
      actor: "file-watch",
      version: 7,
      problems: ["gatehouse.yaml:3:5: routes[0].service: no service named x"],
    });
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line!.level, "info");
    assert.equal(line!.msg, "config change rejected: config.reload by file-watch");
    assert.deepEqual(line!.audit, {
      time: "2026-11-24T01:02:03.000Z",
      action: "config.reload",
      result: "rejected",
      source: "file",
      actor: "file-watch",
      version: 7,
      problems: ["gatehouse.yaml:3:5: routes[0].service: no service named x"],
    });
  });

  it("logs a write failure with the record instead of throwing, and writes again once it can", async () => {
    const path = join(dir, "not-yet", "audit.jsonl");
    const { log, lines } = capturedLog();
    const trail = new AuditTrail({ path }, log);
    assert.doesNotThrow(() =>
      trail.record({ action: "route.delete", result: "accepted", source: "admin", actor: "k1" }),
    );
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.equal(line!.level, "error");
    assert.match(String(line!.msg), /cannot append to the audit log .*not-yet/);
    assert.match(String(line!.error), /ENOENT/);
    assert.equal((line!.audit as AuditRecord).action, "route.delete");
    // The directory appears: the next record is written, the trail did not give up.
    await mkdir(join(dir, "not-yet"));
    trail.record({ action: "route.create", result: "accepted", source: "admin", actor: "k1" });
    assert.deepEqual(
      (await records(path)).map((r) => r.action),
      ["route.create"],
    );
    assert.equal(lines.length, 1);
  });
});
