// @module admin/ui/pages/plugins
// The Global plugins page.
import { h } from "../dom.js";

export default {
  id: "plugins",
  title: "Plugins",
  render(view) {
    view.append(h("h1", {}, "Global plugins"));
  },
};
