// docs/plugins.md's request-validation example run as written: its OpenAPI document and
// config in a folder of their own, a real gateway and upstream, the doc's curl lines run
// with bash, and their answers compared with the ones the doc prints. docs/errors.md's
// GATEHOUSE_REQUEST_INVALID example has the shape the gateway answers with.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Gateway } from "../../src/gateway.ts";
import {
  pluginSection,
  repositoryRoot,
  run,
  runDocRequests,
  startDocGateway,
} from "../helpers/plugin-doc.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const section = pluginSection("request-validation");

describe("docs/plugins.md: request-validation", () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-validation-docs-"));
  let up: Upstream;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    up = await startUpstream(echo);
    writeFileSync(join(dir, "openapi.yaml"), section.namedBlock("openapi.yaml"));
    ({ gateway, port } = await startDocGateway(section.namedBlock("gatehouse.yaml"), up.url, dir));
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the doc's requests as printed", async () => {
    const passed = JSON.parse(await runDocRequests(section, port)) as { url: string };
    assert.equal(passed.url, "/users?page=2&role=admin&role=member");
  });

  it("errors.md's example has the answer's shape", async () => {
    const errors = readFileSync(join(repositoryRoot, "docs/errors.md"), "utf8");
    const example = [...errors.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((match) => match[1]!)
      .find((text) => text.includes("GATEHOUSE_REQUEST_INVALID"));
    assert.ok(example, "errors.md shows a GATEHOUSE_REQUEST_INVALID answer");
    const shown = JSON.parse(example) as { error: { details: { problems: object[] } } };
    const { stdout } = await run("curl", ["-s", `http://127.0.0.1:${port}/api/users?page=x`]);
    const real = JSON.parse(stdout) as { error: { details: { problems: object[] } } };
    assert.deepEqual(Object.keys(shown.error), Object.keys(real.error));
    assert.deepEqual(
      Object.keys(shown.error.details.problems[0]!),
      Object.keys(real.error.details.problems[0]!),
    );
  });
});
