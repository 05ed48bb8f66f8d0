// @module shop/web/orders
// The logged-in user's orders: GET /orders for the list, GET /orders/{order_id} for one
// order's items, total, status and why it failed.
import { api } from "./api.js";
import { clearError, formatPrice, formatTime, h, shortId, showError, statusBadge } from "./dom.js";
import { productNames } from "./products.js";
import { currentSession, onSessionChange } from "./session.js";

/**
 * Wires the orders panel.
 * @returns {{ reload: () => Promise<void>, show: (orderId: string, options?: { focus?: boolean }) => Promise<void> }}
 */
export function mountOrders() {
  const table = document.getElementById("orders-table");
  const body = document.getElementById("orders-body");
  const status = document.getElementById("orders-status");
  const errors = document.getElementById("orders-error");
  const detail = document.getElementById("order-detail");
  const refresh = document.getElementById("refresh-orders");

  async function reload() {
    const session = currentSession();
    refresh.disabled = !session;
    if (!session) {
      table.hidden = true;
      detail.hidden = true;
      body.replaceChildren();
      status.textContent = "Log in to see your orders.";
      return;
    }
    try {
      const { orders = [] } = await api("/orders", { token: session.token });
      clearError(errors);
      const newest = [...orders].sort(
        (a, b) => Date.parse(b.created_at) - Date.parse(a.created_at),
      );
      body.replaceChildren(...newest.map((order) => orderRow(order, show)));
      table.hidden = orders.length === 0;
      status.textContent =
        orders.length === 0
          ? "No orders yet."
          : `${orders.length} order${orders.length === 1 ? "" : "s"}.`;
    } catch (error) {
      showError(errors, error);
    }
  }

  /** Shows one order's details; `focus` moves there (a click on Details, not a new order). */
  async function show(orderId, { focus = false } = {}) {
    const session = currentSession();
    if (!session) return;
    try {
      const order = await api(`/orders/${encodeURIComponent(orderId)}`, { token: session.token });
      clearError(errors);
      detail.replaceChildren(...orderDetail(order));
      detail.hidden = false;
      if (focus) detail.focus();
    } catch (error) {
      showError(errors, error);
    }
  }

  refresh.addEventListener("click", reload);
  onSessionChange(reload);
  reload();
  return { reload, show };
}

function orderRow(order, show) {
  const count = (order.items ?? []).reduce((all, item) => all + Number(item.quantity), 0);
  return h(
    "tr",
    {},
    h("td", {}, h("code", {}, shortId(order.order_id))),
    h("td", {}, formatTime(order.created_at)),
    h("td", {}, String(count)),
    h("td", {}, formatPrice(order.total)),
    h("td", {}, statusBadge(order.status)),
    h(
      "td",
      {},
      h(
        "button",
        {
          type: "button",
          className: "link",
          "aria-label": `Details of order ${order.order_id}`,
          onclick: () => show(order.order_id, { focus: true }),
        },
        "Details",
      ),
    ),
  );
}

function orderDetail(order) {
  return [
    h("h3", { id: "order-detail-title" }, "Order ", h("code", {}, order.order_id)),
    h(
      "dl",
      { className: "facts" },
      h("dt", {}, "Status"),
      h("dd", { "data-testid": "order-detail-status" }, statusBadge(order.status)),
      order.failure_reason && h("dt", {}, "Why"),
      order.failure_reason && h("dd", {}, order.failure_reason),
      h("dt", {}, "Placed"),
      h("dd", {}, formatTime(order.created_at)),
      h("dt", {}, "Payment"),
      h("dd", {}, String(order.payment_method ?? "").replaceAll("_", " ")),
      h("dt", {}, "Total"),
      h("dd", {}, formatPrice(order.total)),
    ),
    h(
      "table",
      {},
      h("caption", { className: "visually-hidden" }, "Items in this order"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Product", "Quantity", "Unit price"].map((name) => h("th", { scope: "col" }, name)),
        ),
      ),
      h(
        "tbody",
        {},
        ...(order.items ?? []).map((item) =>
          h(
            "tr",
            {},
            h(
              "td",
              {},
              productNames.get(item.product_id) ?? h("code", {}, shortId(item.product_id)),
            ),
            h("td", {}, String(item.quantity)),
            h("td", {}, formatPrice(item.unit_price)),
          ),
        ),
      ),
    ),
  ];
}
