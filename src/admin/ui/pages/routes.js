// @module admin/ui/pages/routes
// The Routes page.
import { h } from "../dom.js";

export default {
  id: "routes",
  title: "Routes",
  render(view) {
    view.append(h("h1", {}, "Routes"));
  },
};
