// The saga suites on PGlite, embedded in the test process (and in its children).

import { sagaSuite } from "./saga.case.ts";
import { pgliteBackend } from "./saga-backends.ts";
import { sagaShopSuite } from "./saga-shop.case.ts";

sagaSuite(pgliteBackend);
sagaShopSuite("pglite", pgliteBackend);
