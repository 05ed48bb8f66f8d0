import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GrpcFrameDecoder } from "./framing.ts";
import {
  Base64StreamDecoder,
  encodeTrailersFrame,
  GrpcWebTextError,
  grpcWebMode,
  trailerFrameFlag,
} from "./web.ts";

describe("grpcWebMode", () => {
  it("knows the four gRPC-Web content types and what each becomes", () => {
    assert.deepEqual(grpcWebMode("application/grpc-web"), {
      text: false,
      upstreamContentType: "application/grpc",
      responseContentType: "application/grpc-web+proto",
    });
    assert.deepEqual(grpcWebMode("application/grpc-web+proto"), {
      text: false,
      upstreamContentType: "application/grpc+proto",
      responseContentType: "application/grpc-web+proto",
    });
    assert.deepEqual(grpcWebMode("application/grpc-web-text; charset=utf-8"), {
      text: true,
      upstreamContentType: "application/grpc",
      responseContentType: "application/grpc-web-text+proto",
    });
    assert.equal(grpcWebMode("application/grpc-web-text+proto")?.text, true);
  });

  it("is undefined for native gRPC and anything else", () => {
    for (const type of [undefined, "application/grpc", "application/json", "application/grpc-webx"])
      assert.equal(grpcWebMode(type), undefined, String(type));
  });
});

describe("encodeTrailersFrame", () => {
  it("writes flag 0x80, the length, and lower-case name: value lines", () => {
    const frame = encodeTrailersFrame({ "Grpc-Status": "5", "grpc-message": "no such book" });
    assert.equal(frame[0], trailerFrameFlag);
    const payload = "grpc-status: 5\r\ngrpc-message: no such book\r\n";
    assert.equal(new DataView(frame.buffer).getUint32(1), payload.length);
    assert.equal(Buffer.from(frame.subarray(5)).toString("latin1"), payload);
  });
});

describe("Base64StreamDecoder", () => {
  const message = Buffer.from([0, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 1, 9]);

  it("decodes a body cut at every place, to the same bytes", () => {
    const text = message.toString("base64");
    for (let cut = 0; cut <= text.length; cut++) {
      const decoder = new Base64StreamDecoder();
      const bytes = Buffer.concat([
        decoder.push(text.slice(0, cut)),
        decoder.push(text.slice(cut)),
      ]);
      decoder.end();
      assert.deepEqual(bytes, message, `cut at ${cut}`);
    }
  });

  it("decodes messages base64'd one by one, padding and all, into the frames they were", () => {
    const first = Buffer.from([0, 0, 0, 0, 1, 7]);
    const second = Buffer.from([0, 0, 0, 0, 2, 8, 9]);
    const text = first.toString("base64") + second.toString("base64");
    assert.match(text, /=.+/, "padding in the middle of the stream");
    const decoder = new Base64StreamDecoder();
    const frames = new GrpcFrameDecoder().push(decoder.push(text));
    assert.deepEqual(
      frames.map((frame) => [...frame.message]),
      [[7], [8, 9]],
    );
  });

  it("refuses text that is not base64, and a body that ends inside a group", () => {
    assert.throws(() => new Base64StreamDecoder().push("ab!d"), GrpcWebTextError);
    assert.throws(() => new Base64StreamDecoder().push("QQ==ab!d"), GrpcWebTextError);
    const decoder = new Base64StreamDecoder();
    decoder.push("QUJ");
    assert.throws(() => decoder.end(), GrpcWebTextError);
  });
});
