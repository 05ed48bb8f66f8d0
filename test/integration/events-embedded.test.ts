// The SDK's events on the embedded in-process transport: the shared events suite, its
// store cases on PGlite and PostgreSQL.
import { eventsSuite } from "./events.case.ts";

eventsSuite({
  kind: "embedded",
  setup: async () => undefined,
  teardown: async () => {},
});
