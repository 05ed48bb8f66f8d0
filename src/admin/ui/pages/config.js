// @module admin/ui/pages/config
// The Config editor page.
import { h } from "../dom.js";

export default {
  id: "config",
  title: "Config",
  render(view) {
    view.append(h("h1", {}, "Config editor"));
  },
};
