// @module admin/ui/pages/versions
// The Versions page.
import { h } from "../dom.js";

export default {
  id: "versions",
  title: "Versions",
  render(view) {
    view.append(h("h1", {}, "Versions"));
  },
};
