/**
 * @module bench/baselines/grpc-relay
 * The least a Node gRPC proxy does, for the gRPC bench to measure Gatehouse against: each
 * HTTP/2 stream relayed to one h2c session to the target with node:http2's stream API,
 * headers, messages and trailers passed through, nothing checked, counted or logged.
 * `node bench/baselines/grpc-relay.ts PORT TARGET_PORT`.
 */
import { connect, constants, createServer, type IncomingHttpHeaders } from "node:http2";

const [port, targetPort] = process.argv.slice(2).map(Number);
const target = connect(`http://127.0.0.1:${targetPort}`);
const server = createServer();
server.on("stream", (stream, headers) => {
  const call = target.request({
    ":method": "POST",
    ":path": headers[":path"],
    "content-type": headers["content-type"],
    te: "trailers",
  });
  stream.pipe(call);
  let trailers: IncomingHttpHeaders = { "grpc-status": "0" };
  call.on("response", (response) => {
    const { ":status": _, ...metadata } = response;
    stream.respond({ ":status": 200, ...metadata }, { waitForTrailers: true });
  });
  call.on("trailers", (received) => {
    trailers = received;
  });
  call.on("data", (chunk: Buffer) => stream.write(chunk));
  call.on("end", () => stream.end());
  stream.on("wantTrailers", () => stream.sendTrailers(trailers));
  call.on("error", () => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
  stream.on("error", () => call.close(constants.NGHTTP2_CANCEL));
});
server.listen(port, "127.0.0.1", () => console.log(`grpc relay on ${port}`));
