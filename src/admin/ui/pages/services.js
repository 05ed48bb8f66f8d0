// @module admin/ui/pages/services
// The Services page: the upstreams routes send requests to, their targets and balancing.
import { joined, pluginNames, resourcePage } from "../resource-page.js";

/** A service's targets, or where it discovers them. */
function targets(service) {
  if (service.targets) return joined(service.targets.map((target) => target.url));
  const source = Object.keys(service.discovery ?? {})[0];
  return source ? `discovered (${source})` : "–";
}

export default resourcePage({
  id: "services",
  title: "Services",
  section: "services",
  noun: "service",
  columns: [
    { title: "Targets", value: targets },
    { title: "Protocol", value: (service) => service.protocol ?? "http" },
    {
      title: "Load balancing",
      value: (service) => service.loadBalancer?.algorithm ?? "round-robin",
    },
    { title: "Plugins", value: pluginNames },
  ],
});
