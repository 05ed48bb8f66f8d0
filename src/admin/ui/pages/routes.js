// @module admin/ui/pages/routes
// The Routes page: what requests each route takes and the service that answers them.
import { joined, pluginNames, resourcePage } from "../resource-page.js";

export default resourcePage({
  id: "routes",
  title: "Routes",
  section: "routes",
  noun: "route",
  columns: [
    { title: "Paths", value: (route) => joined(route.match?.paths) },
    { title: "Methods", value: (route) => joined(route.match?.methods) },
    { title: "Hosts", value: (route) => joined(route.match?.hosts) },
    { title: "Service", value: (route) => route.service ?? "–" },
    { title: "Plugins", value: pluginNames },
  ],
  // The services a route may name, offered as you type.
  suggest: (config) => ({ service: (config.services ?? []).map((service) => service.name) }),
});
