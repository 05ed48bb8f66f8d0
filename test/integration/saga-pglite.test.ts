// The saga suites on PGlite, embedded in the test process (and in its children).

import { sagaSuite } from "./saga.case.ts";
import { pgliteBackend } from "./saga-backends.ts";

sagaSuite(pgliteBackend);
