/**
 * @module bench/otlp-sink
 * A stand-in OpenTelemetry collector for the traced bench row: accepts OTLP/HTTP export
 * requests on the port given as the first argument, counts the bytes, and answers 200
 * without decoding them, so that as little of the shared CPU as possible goes to it.
 */
import { createServer } from "node:http";

const port = Number(process.argv[2]);
let exports = 0;
let bytes = 0;
createServer((req, res) => {
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on("end", () => {
    exports++;
    res.writeHead(200, { "content-type": "application/json", "content-length": "2" }).end("{}");
  });
}).listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  console.log(`otlp-sink: ${exports} exports, ${bytes} bytes`);
  process.exit(0);
});
