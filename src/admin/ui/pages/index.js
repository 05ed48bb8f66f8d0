// @module admin/ui/pages
// The dashboard's pages, in navigation order. A page is `{ id, title, render(view, ctx) }`:
// `render` fills `view` (and may return a promise); `ctx` is `{ caller, path, query,
// signal, navigate }`, and `signal` aborts when the user leaves the page.
import audit from "./audit.js";
import config from "./config.js";
import consumers from "./consumers.js";
import overview from "./overview.js";
import plugins from "./plugins.js";
import routes from "./routes.js";
import services from "./services.js";
import upstreams from "./upstreams.js";
import versions from "./versions.js";

export const pages = [
  overview,
  routes,
  services,
  upstreams,
  consumers,
  plugins,
  config,
  versions,
  audit,
];
