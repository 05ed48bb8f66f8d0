// @module admin/ui/pages/plugins
// The global Plugins page: plugins that apply to every route (a route's or service's own
// plugin of the same name replaces one of these).
import { joined, resourcePage } from "../resource-page.js";

export default resourcePage({
  id: "plugins",
  title: "Plugins",
  section: "plugins",
  noun: "global plugin",
  columns: [{ title: "Settings", value: (plugin) => joined(Object.keys(plugin.config ?? {})) }],
});
