// Frame boundaries are found whatever the chunking (a header split byte by byte, 16- and
// 64-bit lengths, masks), and close frames are what RFC 6455 says.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closeFrame, FrameBoundary } from "./websocket-frames.ts";

function frame(payloadLength: number, masked: boolean): Buffer {
  const length = payloadLength < 126 ? payloadLength : payloadLength < 65536 ? 126 : 127;
  const extended = Buffer.alloc(length === 126 ? 2 : length === 127 ? 8 : 0);
  if (length === 126) extended.writeUInt16BE(payloadLength);
  if (length === 127) extended.writeBigUInt64BE(BigInt(payloadLength));
  return Buffer.concat([
    Buffer.from([0x82, (masked ? 0x80 : 0) | length]),
    extended,
    Buffer.alloc(masked ? 4 : 0, 7),
    Buffer.alloc(payloadLength, 1),
  ]);
}

describe("FrameBoundary", () => {
  const frames = [frame(0, false), frame(5, true), frame(300, false), frame(70_000, true)];
  const stream = Buffer.concat(frames);
  const ends = new Set<number>();
  let offset = 0;
  for (const one of frames) {
    offset += one.length;
    ends.add(offset);
  }

  it("is at a boundary exactly where frames end, fed one byte at a time", () => {
    const boundary = new FrameBoundary();
    for (let i = 0; i < stream.length; i++) {
      boundary.advance(stream.subarray(i, i + 1), false);
      assert.equal(boundary.atBoundary, ends.has(i + 1), `after byte ${i + 1}`);
    }
  });

  it("stops at the next boundary when asked, across chunks", () => {
    const boundary = new FrameBoundary();
    boundary.advance(stream.subarray(0, frames[0]!.length + 3), false);
    assert.equal(boundary.atBoundary, false);
    const rest = stream.subarray(frames[0]!.length + 3);
    const read = boundary.advance(rest, true);
    assert.equal(read, frames[1]!.length - 3);
    assert.equal(boundary.atBoundary, true);
    assert.equal(boundary.advance(rest.subarray(read), true), 0);
  });
});

describe("closeFrame", () => {
  it("writes an unmasked close frame for a client", () => {
    const bytes = closeFrame(1001, "bye", false);
    assert.deepEqual([...bytes], [0x88, 5, 0x03, 0xe9, ...Buffer.from("bye")]);
  });

  it("masks a close frame for a server", () => {
    const bytes = closeFrame(1001, "bye", true);
    assert.equal(bytes[0], 0x88);
    assert.equal(bytes[1], 0x80 | 5);
    const mask = bytes.subarray(2, 6);
    const payload = bytes.subarray(6).map((byte, i) => byte ^ mask[i % 4]!);
    assert.deepEqual([...payload], [0x03, 0xe9, ...Buffer.from("bye")]);
  });
});
