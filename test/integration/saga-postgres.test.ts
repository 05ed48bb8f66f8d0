// The saga suites on the machine's PostgreSQL, in a fresh database.

import { sagaSuite } from "./saga.case.ts";
import { postgresBackend } from "./saga-backends.ts";
import { sagaShopSuite } from "./saga-shop.case.ts";

sagaSuite(postgresBackend);
sagaShopSuite("postgres", postgresBackend);
