// @module admin/ui/app
// The dashboard's shell: logs in (or not, on a keyless loopback listener), learns whether
// the key is read-only, builds the navigation, and shows the page the location hash names
// (`#/routes/users-api?tab=yaml` → page `routes`, path ["users-api"], query tab=yaml). Each
// page renders into the view and stops its timers and streams when the signal it was
// given aborts (the user went to another page).
import { api, storedKey, storeKey, whenUnauthorized } from "./api.js";
import { errorAlert, h, replace } from "./dom.js";
import { pages } from "./pages/index.js";

const view = /** @type {HTMLElement} */ (document.getElementById("view"));
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
const login = /** @type {HTMLDialogElement} */ (document.getElementById("login"));
const loginForm = /** @type {HTMLFormElement} */ (document.getElementById("login-form"));
const loginKey = /** @type {HTMLInputElement} */ (document.getElementById("login-key"));
const loginError = /** @type {HTMLElement} */ (document.getElementById("login-error"));
const logout = /** @type {HTMLButtonElement} */ (document.getElementById("logout"));
const menuToggle = /** @type {HTMLButtonElement} */ (document.querySelector(".menu-toggle"));

/** Who is logged in: `{ actor, readOnly }` (GET /caller). */
let caller;
/** Aborted when the page shown changes. */
let current = new AbortController();

/** The page, path and query the location hash names. */
export function parseHash(hash) {
  const [route = "", search = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const [id = "overview", ...path] = route.split("/").map(decoded);
  return { id: id || "overview", path, query: new URLSearchParams(search) };
}

/** A part of the hash percent-decoded; as it is when it does not decode (a mangled link). */
function decoded(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Goes to `hash` (`#/routes/new`); the page renders on the hashchange. */
export function navigate(hash) {
  if (location.hash === hash) show();
  else location.hash = hash;
}

function show() {
  current.abort();
  current = new AbortController();
  const { id, path, query } = parseHash(location.hash);
  const page = pages.find((candidate) => candidate.id === id) ?? pages[0];
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === page.id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page.title} · Gatehouse`;
  replace(view);
  const ctx = { caller, path, query, signal: current.signal, navigate };
  Promise.resolve(page.render(view, ctx)).catch((error) => {
    if (!ctx.signal.aborted) replace(view, errorAlert(error));
  });
}

function buildNav() {
  replace(
    nav,
    h(
      "ul",
      {},
      pages.map((page) =>
        h("li", {}, h("a", { href: `#/${page.id}`, "data-page": page.id }, page.title)),
      ),
    ),
  );
  nav.addEventListener("click", (event) => {
    if (event.target instanceof HTMLAnchorElement) setMenu(false);
  });
}

function setMenu(open) {
  menuToggle.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("menu-open", open);
}

/** Asks who the key is; shows the login dialog until a key works. */
async function start() {
  try {
    caller = (await api("/caller")).body;
  } catch (error) {
    if (error.status === 401) return askForKey(storedKey() ? "That key was not accepted." : "");
    replace(view, errorAlert(error));
    return;
  }
  login.close();
  document.body.classList.toggle("read-only", caller.readOnly);
  replace(
    /** @type {HTMLElement} */ (document.getElementById("caller")),
    caller.actor,
    caller.readOnly ? h("span", { className: "badge badge-off" }, "read-only") : null,
  );
  logout.hidden = caller.actor === "anonymous-loopback";
  show();
}

function askForKey(message) {
  current.abort();
  caller = undefined;
  replace(view);
  loginError.textContent = message;
  if (!login.open) login.showModal();
  loginKey.focus();
}

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  storeKey(loginKey.value.trim());
  loginKey.value = "";
  start();
});
login.addEventListener("cancel", (event) => event.preventDefault());
logout.addEventListener("click", () => {
  storeKey("");
  askForKey("");
});
document.getElementById("theme")?.addEventListener("click", () => {
  const dark =
    document.documentElement.dataset.theme === "dark" ||
    (!document.documentElement.dataset.theme && matchMedia("(prefers-color-scheme: dark)").matches);
  const theme = dark ? "light" : "dark";
  localStorage.setItem("gatehouse.theme", theme);
  applyTheme(theme);
});
menuToggle.addEventListener("click", () =>
  setMenu(menuToggle.getAttribute("aria-expanded") !== "true"),
);
whenUnauthorized(() => askForKey("The key is no longer accepted: log in again."));
window.addEventListener("hashchange", () => caller && show());

applyTheme(localStorage.getItem("gatehouse.theme"));
buildNav();
start();
