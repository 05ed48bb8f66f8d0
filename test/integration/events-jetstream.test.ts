// The SDK's events on NATS JetStream (a nats-server of this file's own): the shared events
// suite, its store cases on PGlite and PostgreSQL.
import { type NatsServer, startNatsServer } from "../helpers/nats-server.ts";
import { eventsSuite } from "./events.case.ts";

let nats: NatsServer;
eventsSuite({
  kind: "jetstream",
  async setup() {
    nats = await startNatsServer();
    return nats.url;
  },
  teardown: () => nats.remove(),
});
