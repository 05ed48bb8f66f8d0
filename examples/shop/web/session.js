// @module shop/web/session
// Who is logged in: the token from POST /users/login, kept in sessionStorage so it lives as
// long as the tab (a reload keeps it, closing the tab forgets it) and never in a cookie the
// browser would send by itself.

const key = "shop.session";
const listeners = new Set();

/** @typedef {{ token: string, userId: string, expiresAt: string }} Session */

/** The current session, or undefined when nobody is logged in or the token has expired. */
export function currentSession() {
  let session;
  try {
    session = JSON.parse(sessionStorage.getItem(key) ?? "null") ?? undefined;
  } catch {
    session = undefined;
  }
  if (session && Date.parse(session.expiresAt) <= Date.now()) {
    sessionStorage.removeItem(key);
    return undefined;
  }
  return session;
}

/** Starts a session from a login answer `{ token, user_id, expires_at }`. */
export function startSession(login) {
  const session = { token: login.token, userId: login.user_id, expiresAt: login.expires_at };
  sessionStorage.setItem(key, JSON.stringify(session));
  for (const listener of listeners) listener(session);
}

/** Ends the session (log out, or a token the API no longer takes). */
export function endSession() {
  sessionStorage.removeItem(key);
  for (const listener of listeners) listener(undefined);
}

/** Calls `listener(session | undefined)` each time someone logs in or out. */
export function onSessionChange(listener) {
  listeners.add(listener);
}
