// @module shop/web/products
// The catalogue: GET /products a page at a time, filtered by category, each product with its
// price and the stock inventory reports, and a quantity to add to the order.
import { api } from "./api.js";
import { clearError, formatPrice, h, showError } from "./dom.js";

const pageSize = 8;

/** Product names by id, from every page read: orders list only product ids. */
export const productNames = new Map();

/**
 * Shows the catalogue in the products panel.
 * @param {{ onAdd: (product: object, quantity: number) => void }} options
 * @returns {{ reload: () => Promise<void> }}
 */
export function mountProducts({ onAdd }) {
  const list = document.getElementById("product-list");
  const status = document.getElementById("products-status");
  const errors = document.getElementById("products-error");
  const category = document.getElementById("category");
  const previous = document.getElementById("prev-page");
  const next = document.getElementById("next-page");
  const pageInfo = document.getElementById("page-info");
  const state = { page: 1, pages: 1 };
  /** Answers of an older request must not overwrite a newer one's. */
  let latest = 0;

  async function load() {
    const ask = ++latest;
    const query = new URLSearchParams({ page: String(state.page), page_size: String(pageSize) });
    if (category.value) query.set("category", category.value);
    status.textContent = "Loading products…";
    list.setAttribute("aria-busy", "true");
    try {
      const { products = [], total = 0 } = await api(`/products?${query}`);
      if (ask !== latest) return;
      for (const product of products) productNames.set(product.id, product.name);
      clearError(errors);
      state.pages = Math.max(1, Math.ceil(Number(total) / pageSize));
      list.replaceChildren(...products.map((product) => productCard(product, onAdd)));
      status.textContent =
        products.length === 0
          ? "No products in this category."
          : `${total} product${Number(total) === 1 ? "" : "s"}${category.value ? ` in ${category.value}` : ""}.`;
      pageInfo.textContent = `Page ${state.page} of ${state.pages}`;
      previous.disabled = state.page <= 1;
      next.disabled = state.page >= state.pages;
    } catch (error) {
      if (ask !== latest) return;
      status.textContent = "";
      showError(errors, error);
    } finally {
      if (ask === latest) list.removeAttribute("aria-busy");
    }
  }

  category.addEventListener("change", () => {
    state.page = 1;
    load();
  });
  previous.addEventListener("click", () => {
    state.page = Math.max(1, state.page - 1);
    load();
  });
  next.addEventListener("click", () => {
    state.page = Math.min(state.pages, state.page + 1);
    load();
  });

  loadCategories(category);
  load();
  return { reload: load };
}

/** Fills the category filter from the catalogue's first hundred products (the API's page limit). */
async function loadCategories(select) {
  try {
    const { products = [] } = await api("/products?page=1&page_size=100");
    for (const product of products) productNames.set(product.id, product.name);
    const names = [...new Set(products.map((product) => product.category))].filter(Boolean).sort();
    select.append(...names.map((name) => h("option", { value: name }, name)));
  } catch {
    // The list itself shows why the catalogue cannot be read; the filter just stays "All".
  }
}

/** One product: name, category, price, stock, and the quantity to add. */
function productCard(product, onAdd) {
  const stock = Number(product.stock ?? 0);
  const inputId = `quantity-${product.id}`;
  const quantity = h("input", {
    id: inputId,
    name: "quantity",
    type: "number",
    min: 1,
    max: Math.max(1, stock),
    value: 1,
    inputmode: "numeric",
    disabled: stock <= 0,
  });
  const form = h(
    "form",
    {
      className: "add-form",
      onsubmit: (event) => {
        event.preventDefault();
        const count = Math.floor(Number(quantity.value));
        if (!(count >= 1)) {
          quantity.setAttribute("aria-invalid", "true");
          quantity.focus();
          return;
        }
        quantity.removeAttribute("aria-invalid");
        onAdd(product, count);
      },
    },
    h(
      "label",
      { for: inputId },
      "Quantity",
      h("span", { className: "visually-hidden" }, ` of ${product.name}`),
    ),
    quantity,
    h(
      "button",
      { type: "submit", disabled: stock <= 0, "aria-label": `Add ${product.name} to order` },
      "Add",
    ),
  );
  return h(
    "li",
    {},
    h(
      "article",
      { className: "product", "aria-label": product.name },
      h("p", { className: "category" }, product.category),
      h("h2", { className: "product-name" }, product.name),
      h("p", { className: "price" }, formatPrice(product.price)),
      h(
        "p",
        { className: stock > 0 ? "stock" : "stock out" },
        stock > 0 ? `${stock} in stock` : "Out of stock",
      ),
      form,
    ),
  );
}
