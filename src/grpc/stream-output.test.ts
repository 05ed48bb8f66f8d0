import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { grpcErrorBody } from "./status.ts";
import { streamError, streamFormatFor, streamMessage } from "./stream-output.ts";

describe("stream output", () => {
  it("answers NDJSON unless the client accepts text/event-stream", () => {
    assert.equal(streamFormatFor(undefined), "ndjson");
    assert.equal(streamFormatFor("application/json, */*"), "ndjson");
    assert.equal(streamFormatFor("text/event-stream"), "sse");
    assert.equal(streamFormatFor("application/json, text/event-stream;q=0.9"), "sse");
    assert.equal(streamFormatFor("text/event-streams"), "ndjson");
  });

  it("writes each message as a line, or as an SSE data event", () => {
    assert.equal(streamMessage("ndjson", '{"id":"1"}'), '{"id":"1"}\n');
    assert.equal(streamMessage("sse", '{"id":"1"}'), 'data: {"id":"1"}\n\n');
  });

  it("ends a failed stream with the error body, as a line or an error event", () => {
    const body = grpcErrorBody(14, "the target went away", "req-1");
    const line = streamError("ndjson", body);
    assert.deepEqual(JSON.parse(line), body);
    assert.ok(line.endsWith("}\n"));
    assert.equal(streamError("sse", body), `event: error\ndata: ${JSON.stringify(body)}\n\n`);
    assert.equal(body.error.code, "UNAVAILABLE");
  });
});
