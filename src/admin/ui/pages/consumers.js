// @module admin/ui/pages/consumers
// The Consumers page.
import { h } from "../dom.js";

export default {
  id: "consumers",
  title: "Consumers",
  render(view) {
    view.append(h("h1", {}, "Consumers"));
  },
};
