// @module admin/ui/pages/services
// The Services page.
import { h } from "../dom.js";

export default {
  id: "services",
  title: "Services",
  render(view) {
    view.append(h("h1", {}, "Services"));
  },
};
