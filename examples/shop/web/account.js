// @module shop/web/account
// Registering (POST /users/register), logging in (POST /users/login), logging out, and the
// logged-in user's profile (GET /users/me, with the count of confirmed orders).
import { api } from "./api.js";
import { clearError, showError } from "./dom.js";
import { currentSession, endSession, onSessionChange, startSession } from "./session.js";

/**
 * Wires the account panel and the header's session line.
 * @returns {{ refreshProfile: () => Promise<void> }}
 */
export function mountAccount() {
  const signedOut = document.getElementById("signed-out");
  const signedIn = document.getElementById("signed-in");
  const whoami = document.getElementById("whoami");
  const logout = document.getElementById("logout");
  const accountStatus = document.getElementById("account-status");
  const loginForm = document.getElementById("login-form");
  const loginError = document.getElementById("login-error");
  const registerForm = document.getElementById("register-form");
  const registerError = document.getElementById("register-error");
  const register = document.getElementById("register");

  registerForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(registerError, registerForm);
    const fields = formFields(registerForm);
    await busy(registerForm, async () => {
      try {
        const user = await api("/users/register", { method: "POST", body: fields });
        registerForm.reset();
        register.open = false;
        loginForm.elements.namedItem("email").value = user.email;
        accountStatus.textContent = `Welcome, ${user.full_name || user.username}: your account is ready. Log in to shop.`;
        loginForm.elements.namedItem("password").focus();
      } catch (error) {
        showError(registerError, error, registerForm);
      }
    });
  });

  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(loginError, loginForm);
    const { email, password } = formFields(loginForm);
    await busy(loginForm, async () => {
      try {
        const login = await api("/users/login", { method: "POST", body: { email, password } });
        loginForm.reset();
        accountStatus.textContent = "";
        startSession(login);
      } catch (error) {
        showError(loginError, error, loginForm);
      }
    });
  });

  logout.addEventListener("click", () => endSession());

  async function refreshProfile() {
    const session = currentSession();
    if (!session) return;
    try {
      const me = await api("/users/me", { token: session.token });
      whoami.textContent = `Logged in as ${me.username}`;
      document.getElementById("profile-name").textContent = me.full_name || me.username;
      document.getElementById("profile-email").textContent = me.email;
      document.getElementById("profile-orders").textContent = String(me.order_count ?? 0);
    } catch (error) {
      // A token the API no longer takes (expired, keys rotated away) ends the session.
      if (error.status === 401) endSession();
    }
  }

  function show(session) {
    signedOut.hidden = Boolean(session);
    signedIn.hidden = !session;
    logout.hidden = !session;
    whoami.textContent = session ? "Logged in" : "Not logged in";
    if (session) refreshProfile();
  }

  onSessionChange(show);
  show(currentSession());
  return { refreshProfile };
}

/** A form's fields by name, trimmed (but not passwords: a space may be part of one). */
function formFields(form) {
  const fields = {};
  for (const [name, value] of new FormData(form)) {
    fields[name] = name === "password" ? String(value) : String(value).trim();
  }
  return fields;
}

/** Runs `work` with the form's submit button disabled and the form marked busy. */
async function busy(form, work) {
  const submit = form.querySelector('button[type="submit"]');
  submit.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    await work();
  } finally {
    submit.disabled = false;
    form.removeAttribute("aria-busy");
  }
}
