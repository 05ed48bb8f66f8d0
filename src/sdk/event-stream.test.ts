// The event-stream reader: events cut anywhere across chunks, every line ending the
// standard allows, comments (keepalives) skipped, multi-line data joined.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventStreamReader, type ServerSentEvent } from "./event-stream.ts";

function read(chunks: string[]): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  const reader = new EventStreamReader((event) => events.push(event));
  for (const chunk of chunks) reader.push(chunk);
  return events;
}

const stream =
  'event: snapshot\nid: 3\ndata: {"revision":3}\n\n: keepalive\n\nevent: put\nid: 4\ndata: {"a":\ndata: 1}\n\n';

describe("EventStreamReader", () => {
  it("reads events, skipping comments and joining data lines", () => {
    assert.deepEqual(read([stream]), [
      { event: "snapshot", data: '{"revision":3}', id: "3" },
      { event: "put", data: '{"a":\n1}', id: "4" },
    ]);
  });

  it("reads the same events whatever the chunks, one character at a time included", () => {
    const whole = read([stream]);
    for (let cut = 1; cut < stream.length; cut++) {
      assert.deepEqual(read([stream.slice(0, cut), stream.slice(cut)]), whole, `cut at ${cut}`);
    }
    assert.deepEqual(read([...stream]), whole);
  });

  it("takes CRLF and CR line endings, even with the CRLF split across chunks", () => {
    const crlf = stream.replaceAll("\n", "\r\n");
    assert.deepEqual(read([crlf]), read([stream]));
    assert.deepEqual(read([...crlf]), read([stream]));
    assert.deepEqual(read([stream.replaceAll("\n", "\r")]), read([stream]));
  });

  it("dispatches nothing for an event without data, and names an unnamed one message", () => {
    assert.deepEqual(read(["event: put\n\ndata:x\n\n"]), [
      { event: "message", data: "x", id: undefined },
    ]);
  });
});
