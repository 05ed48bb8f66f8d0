// @module admin/ui/pages/audit
// The Audit page.
import { h } from "../dom.js";

export default {
  id: "audit",
  title: "Audit",
  render(view) {
    view.append(h("h1", {}, "Audit"));
  },
};
