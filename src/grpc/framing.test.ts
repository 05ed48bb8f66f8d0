import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeGrpcFrame, GrpcFrameDecoder, GrpcFramingError } from "./framing.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

describe("gRPC framing", () => {
  it("encodes a flag byte, a big-endian length and the message", () => {
    assert.deepEqual(encodeGrpcFrame(bytes(7, 8, 9)), bytes(0, 0, 0, 0, 3, 7, 8, 9));
    assert.deepEqual(encodeGrpcFrame(bytes(), true), bytes(1, 0, 0, 0, 0));
    const big = encodeGrpcFrame(new Uint8Array(0x010203));
    assert.deepEqual(big.subarray(0, 5), bytes(0, 0, 1, 2, 3));
  });

  it("decodes several messages from one chunk, empty ones included", () => {
    const chunk = new Uint8Array([
      ...encodeGrpcFrame(bytes(1)),
      ...encodeGrpcFrame(bytes()),
      ...encodeGrpcFrame(bytes(2, 3), true),
    ]);
    assert.deepEqual(new GrpcFrameDecoder().push(chunk), [
      { compressed: false, message: bytes(1) },
      { compressed: false, message: bytes() },
      { compressed: true, message: bytes(2, 3) },
    ]);
  });

  it("decodes a message split across chunks anywhere, the header included", () => {
    const stream = new Uint8Array([
      ...encodeGrpcFrame(bytes(1, 2, 3, 4)),
      ...encodeGrpcFrame(bytes(5)),
    ]);
    for (let cut = 1; cut < stream.length; cut++) {
      const decoder = new GrpcFrameDecoder();
      const frames = [
        ...decoder.push(stream.subarray(0, cut)),
        ...decoder.push(stream.subarray(cut)),
      ];
      assert.deepEqual(
        frames.map((f) => [...f.message]),
        [[1, 2, 3, 4], [5]],
        `cut at ${cut}`,
      );
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  it("decodes a stream fed one byte at a time", () => {
    const stream = encodeGrpcFrame(bytes(9, 8, 7));
    const decoder = new GrpcFrameDecoder();
    const frames = [...stream].flatMap((byte) => decoder.push(bytes(byte)));
    assert.deepEqual(frames, [{ compressed: false, message: bytes(9, 8, 7) }]);
  });

  it("keeps the bytes of an unfinished message, so a truncated stream can be told apart", () => {
    const decoder = new GrpcFrameDecoder();
    assert.deepEqual(decoder.push(encodeGrpcFrame(bytes(1, 2, 3)).subarray(0, 6)), []);
    assert.equal(decoder.bufferedBytes, 6);
  });

  it("refuses a message larger than the limit, and a bad flag", () => {
    const decoder = new GrpcFrameDecoder({ maxMessageBytes: 2 });
    assert.throws(() => decoder.push(bytes(0, 0, 0, 0, 3)), GrpcFramingError);
    assert.throws(() => new GrpcFrameDecoder().push(bytes(2, 0, 0, 0, 0)), /bad compressed flag 2/);
  });
});
