// @module admin/ui/pages/upstreams
// The Upstreams page.
import { h } from "../dom.js";

export default {
  id: "upstreams",
  title: "Upstreams",
  render(view) {
    view.append(h("h1", {}, "Upstreams"));
  },
};
