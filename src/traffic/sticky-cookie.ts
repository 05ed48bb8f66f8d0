/**
 * @module traffic/sticky-cookie
 * The cookie that keeps a browser on one choice of a route's split (`sticky: cookie`): it
 * records the user's bucket (a number), not a service name, so a client cannot pick a
 * service the split does not offer, and a change of weights moves as few users as it can.
 */

/** 30 days: long enough for a canary's life, short enough to be forgotten after it. */
const maxAge = 30 * 24 * 60 * 60;

/** Reads and writes one route's sticky cookie. */
export interface StickyCookie {
  /** The bucket the cookie holds, or undefined when it is missing or not one. */
  read(cookieHeader: string): number | undefined;
  /** The `Set-Cookie` value recording a bucket. */
  write(bucket: number): string;
}

/** The sticky cookie of the route named `route`: `gatehouse_split_<route>`. */
export function stickyCookie(route: string): StickyCookie {
  // Cookie names are HTTP tokens: anything else in the route name becomes `_`.
  const name = `gatehouse_split_${route.replace(/[^!#$%&'*+.^_`|~0-9A-Za-z-]/g, "_")}`;
  return {
    read(cookieHeader) {
      const value = cookieValue(cookieHeader, name);
      if (value === undefined || !/^\d{1,4}$/.test(value)) return undefined;
      return Number(value);
    },
    write(bucket) {
      return `${name}=${bucket}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax`;
    },
  };
}

/** The value of the cookie `name` in a `Cookie` header, or undefined when it is not there. */
export function cookieValue(header: string, name: string): string | undefined {
  if (header === "") return undefined;
  let at = 0;
  while (at < header.length) {
    let end = header.indexOf(";", at);
    if (end === -1) end = header.length;
    const equals = header.indexOf("=", at);
    if (equals !== -1 && equals < end && header.slice(at, equals).trim() === name) {
      const value = header.slice(equals + 1, end).trim();
      return value.length > 1 && value.startsWith('"') && value.endsWith('"')
        ? value.slice(1, -1)
        : value;
    }
    at = end + 1;
  }
  return undefined;
}
