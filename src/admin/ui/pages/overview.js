// @module admin/ui/pages/overview
// The Overview page.
import { h } from "../dom.js";

export default {
  id: "overview",
  title: "Overview",
  render(view) {
    view.append(h("h1", {}, "Overview"));
  },
};
