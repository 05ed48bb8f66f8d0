// @module shop/web/app
// The page's entry point: mounts the catalogue, the account, the order being put together
// and the list of orders, and keeps them in step (an order placed refreshes stock, the
// orders list and the profile's order count).
import { mountAccount } from "./account.js";
import { mountCart } from "./cart.js";
import { mountOrders } from "./orders.js";
import { mountProducts } from "./products.js";

const account = mountAccount();
const orders = mountOrders();
const cart = mountCart({
  onPlaced(placed) {
    products.reload();
    orders.reload();
    orders.show(placed.order_id);
    account.refreshProfile();
  },
});
const products = mountProducts({ onAdd: (product, quantity) => cart.add(product, quantity) });
