// @module shop/web/cart
// The order being put together and placing it: POST /orders with the items, the payment
// method and an Idempotency-Key, so a retry after a lost answer never orders twice.
import { api } from "./api.js";
import { clearError, formatPrice, h, shortId, showError, statusBadge } from "./dom.js";
import { currentSession, endSession, onSessionChange } from "./session.js";

/** What each final status means for the customer. */
const outcomes = {
  confirmed: "Paid, and the stock is yours.",
  payment_failed: "The payment was declined: nothing was charged and the stock went back.",
  out_of_stock: "Not enough stock for this order: nothing was charged.",
  pending: "Still being processed.",
  cancelled: "Cancelled.",
};

/**
 * Shows the order being put together in the cart panel.
 * @param {{ onPlaced: (order: { order_id: string, status: string }) => void }} options
 * @returns {{ add: (product: object, quantity: number) => void }}
 */
export function mountCart({ onPlaced }) {
  const list = document.getElementById("cart-items");
  const empty = document.getElementById("cart-empty");
  const total = document.getElementById("cart-total");
  const form = document.getElementById("order-form");
  const button = document.getElementById("place-order");
  const hint = document.getElementById("order-hint");
  const errors = document.getElementById("order-error");
  const status = document.getElementById("order-status");
  /** product id → { product, quantity } */
  const items = new Map();
  /**
   * The key of the order being placed. Kept until the API has answered it, so pressing the
   * button again after a network failure asks for the same order, not a second one.
   */
  let idempotencyKey;
  let placing = false;

  function render() {
    list.replaceChildren(
      ...[...items.values()].map(({ product, quantity }) =>
        h(
          "li",
          {},
          h("span", { className: "item-name" }, product.name),
          h("span", { className: "item-quantity" }, `× ${quantity}`),
          h("span", { className: "item-price" }, formatPrice(product.price * quantity)),
          h(
            "button",
            {
              type: "button",
              className: "link",
              "aria-label": `Remove ${product.name}`,
              onclick: () => {
                items.delete(product.id);
                idempotencyKey = undefined;
                render();
              },
            },
            "Remove",
          ),
        ),
      ),
    );
    const sum = [...items.values()].reduce(
      (all, item) => all + item.product.price * item.quantity,
      0,
    );
    total.value = formatPrice(sum);
    empty.hidden = items.size > 0;
    const session = currentSession();
    button.disabled = placing || items.size === 0 || !session;
    hint.hidden = Boolean(session);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const session = currentSession();
    if (!session || items.size === 0 || placing) return;
    placing = true;
    idempotencyKey ??= crypto.randomUUID();
    clearError(errors);
    status.textContent = "Placing your order…";
    render();
    try {
      const placed = await api("/orders", {
        method: "POST",
        token: session.token,
        headers: { "idempotency-key": idempotencyKey },
        body: {
          items: [...items.values()].map(({ product, quantity }) => ({
            product_id: product.id,
            quantity,
          })),
          payment_method: form.elements.namedItem("payment_method").value,
        },
      });
      idempotencyKey = undefined;
      status.replaceChildren(
        "Order ",
        h("code", { title: placed.order_id }, shortId(placed.order_id)),
        " ",
        statusBadge(placed.status),
        " ",
        outcomes[placed.status] ?? "",
      );
      if (placed.status === "confirmed") items.clear();
      onPlaced(placed);
    } catch (error) {
      // An answer (even an error) settles the key; only a lost one is retried with it.
      if (error.status !== 0) idempotencyKey = undefined;
      status.textContent = "";
      showError(errors, error);
      // The gateway no longer takes the token (expired, or its key rotated away): log in again.
      if (error.status === 401) endSession();
    } finally {
      placing = false;
      render();
    }
  });

  onSessionChange(render);
  render();
  return {
    add(product, quantity) {
      const current = items.get(product.id)?.quantity ?? 0;
      items.set(product.id, { product, quantity: current + quantity });
      idempotencyKey = undefined;
      status.textContent = `Added ${quantity} × ${product.name} to your order.`;
      render();
    },
  };
}
