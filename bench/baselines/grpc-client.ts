/**
 * @module bench/baselines/grpc-client
 * The gRPC bench's caller: @grpc/grpc-js clients making unary `test.v1.Echo/Unary` calls,
 * as a Node service calls another. `channels` clients, each on its own connection, keep
 * `inFlight` calls going each until `calls` are done; prints one JSON line (calls/s, p50,
 * p99, failed). `node bench/baselines/grpc-client.ts HOST:PORT CALLS CHANNELS IN_FLIGHT`.
 */
import * as grpc from "@grpc/grpc-js";

const [address, callsArg, channelsArg, inFlightArg] = process.argv.slice(2);
const calls = Number(callsArg);
const channels = Number(channelsArg);
const inFlight = Number(inFlightArg);
const raw = (b: Buffer) => b;
const message = Buffer.alloc(16, 7);
// A subchannel pool per client: each has its own connection, as h2load's -c does.
const clients = Array.from(
  { length: channels },
  () =>
    new grpc.Client(address!, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    }),
);
// Connected before the clock starts.
await Promise.all(
  clients.map(
    (client) =>
      new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
      ),
  ),
);

const latencies = new Float64Array(calls);
let started = 0;
let done = 0;
let failed = 0;
const begin = performance.now();
await new Promise<void>((resolve) => {
  const call = (client: grpc.Client) => {
    if (started === calls) return;
    started++;
    const at = performance.now();
    client.makeUnaryRequest("/test.v1.Echo/Unary", raw, raw, message, (error) => {
      latencies[done] = performance.now() - at;
      if (error) failed++;
      if (++done === calls) resolve();
      else call(client);
    });
  };
  for (const client of clients) for (let i = 0; i < inFlight; i++) call(client);
});
const seconds = (performance.now() - begin) / 1000;
latencies.sort();
const at = (q: number) => latencies[Math.min(calls - 1, Math.floor(calls * q))]!;
console.log(
  JSON.stringify({
    callsPerSecond: calls / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    failed,
  }),
);
for (const client of clients) client.close();
