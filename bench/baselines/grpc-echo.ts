/**
 * @module bench/baselines/grpc-echo
 * The gRPC bench's target: a @grpc/grpc-js server (h2c) whose `test.v1.Echo/Unary` answers
 * each request with its own bytes. `node bench/baselines/grpc-echo.ts PORT`.
 */
import * as grpc from "@grpc/grpc-js";

const port = Number(process.argv[2]);
const raw = (b: Buffer) => b;
const server = new grpc.Server();
server.addService(
  {
    Unary: {
      path: "/test.v1.Echo/Unary",
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  },
  {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
      done(null, call.request),
  },
);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  console.log(`grpc echo on ${port}`);
});
