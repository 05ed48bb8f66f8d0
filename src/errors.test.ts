// The error catalogue and docs/errors.md stay in step: every code documented once, with its
// status and meaning, and nothing documented that the catalogue does not have.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { before, describe, it } from "node:test";
import { errorBody, errorCatalogue, GatehouseError, isGatehouseError } from "./errors.ts";

const docsPath = new URL("../docs/errors.md", import.meta.url);
const codes = Object.keys(errorCatalogue) as (keyof typeof errorCatalogue)[];

interface DocumentedCode {
  status: number;
  meaning: string;
  when: string;
}

describe("error catalogue", () => {
  let docs: string;
  /** The rows of the codes table: `| \`CODE\` | status | meaning | when |`. */
  let rows: Map<string, DocumentedCode>;
  let rowCodes: string[];

  before(async () => {
    docs = await readFile(docsPath, "utf8");
    rowCodes = [];
    rows = new Map();
    for (const match of docs.matchAll(
      /^\| `(GATEHOUSE_[A-Z0-9_]+)` \| (\d{3}) \| ([^|]+) \| (.+) \|$/gm,
    )) {
      rowCodes.push(match[1]!);
      rows.set(match[1]!, {
        status: Number(match[2]),
        meaning: match[3]!.trim(),
        when: match[4]!.trim(),
      });
    }
  });

  it("has well-formed, unique codes with a real HTTP error status", () => {
    assert.ok(codes.length > 0);
    for (const code of codes) {
      assert.match(code, /^GATEHOUSE_[A-Z_]+$/);
      const { status, message } = errorCatalogue[code];
      assert.ok(
        status >= 400 && status <= 599 && STATUS_CODES[status],
        `${code}: status ${status}`,
      );
      assert.ok(message.length > 0, `${code} has a message`);
    }
    assert.equal(new Set(codes).size, codes.length);
    assert.equal(
      new Set(rowCodes).size,
      rowCodes.length,
      "each code has one row in docs/errors.md",
    );
  });

  it("documents every code with its status, meaning and when it happens", () => {
    for (const code of codes) {
      const row = rows.get(code);
      assert.ok(row, `${code} is missing from docs/errors.md`);
      assert.equal(row.status, errorCatalogue[code].status, `${code}: status in docs/errors.md`);
      assert.equal(row.meaning, errorCatalogue[code].message, `${code}: meaning in docs/errors.md`);
      assert.ok(row.when.length > 0, `${code}: docs/errors.md says when it happens`);
    }
  });

  it("documents no code the catalogue does not have", () => {
    for (const [mention] of docs.matchAll(/GATEHOUSE_[A-Z0-9_]+/g))
      assert.ok(mention in errorCatalogue, `docs/errors.md mentions unknown code ${mention}`);
  });

  it("gives a GatehouseError and a response body the code's status and message", () => {
    const error = new GatehouseError("GATEHOUSE_ROUTE_NOT_FOUND");
    assert.equal(error.status, 404);
    assert.equal(error.message, errorCatalogue.GATEHOUSE_ROUTE_NOT_FOUND.message);
    assert.deepEqual(JSON.parse(errorBody("GATEHOUSE_ROUTE_NOT_FOUND", "req-1")), {
      error: {
        code: "GATEHOUSE_ROUTE_NOT_FOUND",
        message: "No route matches the request",
        requestId: "req-1",
      },
    });
  });

  it("carries a refusal's problems and the headers its answer needs, and lists the problems in the body", () => {
    const error = new GatehouseError("GATEHOUSE_CONFIG_INVALID", "routes[0].service: unknown", {
      problems: ["routes[0].service: unknown"],
      headers: { allow: "GET" },
    });
    assert.equal(error.status, 400);
    assert.deepEqual(error.problems, ["routes[0].service: unknown"]);
    assert.deepEqual(error.headers, { allow: "GET" });
    const body = errorBody(error.code, "req-2", error.message, error.problems);
    assert.deepEqual(JSON.parse(body), {
      error: {
        code: "GATEHOUSE_CONFIG_INVALID",
        message: "routes[0].service: unknown",
        requestId: "req-2",
        problems: ["routes[0].service: unknown"],
      },
    });
    // Indented for people (the admin API's answers), the same JSON.
    const indented = errorBody(error.code, "req-2", error.message, error.problems, 2);
    assert.ok(indented.startsWith('{\n  "error": {\n') && indented.endsWith("}\n"));
    assert.deepEqual(JSON.parse(indented), JSON.parse(body));
    assert.ok(!isGatehouseError(new Error("x")));
    assert.ok(!isGatehouseError(error, "GATEHOUSE_CONFIG_CONFLICT"));
    assert.ok(isGatehouseError(error, "GATEHOUSE_CONFIG_INVALID"));
  });
});
