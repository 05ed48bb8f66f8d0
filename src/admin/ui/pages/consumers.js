// @module admin/ui/pages/consumers
// The Consumers page: the known API clients, their groups and how they prove who they are.
// Their secrets are shown as the admin API answers them: `[redacted]`, sent back as is.
import { joined, pluginNames, resourcePage } from "../resource-page.js";

/** How many credentials of each kind a consumer has: `2 keys, 1 basic`. */
function credentials(consumer) {
  const kinds = Object.entries(consumer.credentials ?? {})
    .filter(([, list]) => Array.isArray(list) && list.length > 0)
    .map(([kind, list]) => `${list.length} ${kind}`);
  return joined(kinds);
}

export default resourcePage({
  id: "consumers",
  title: "Consumers",
  section: "consumers",
  noun: "consumer",
  columns: [
    { title: "Groups", value: (consumer) => joined(consumer.groups) },
    { title: "Credentials", value: credentials },
    { title: "Plugins", value: pluginNames },
  ],
});
