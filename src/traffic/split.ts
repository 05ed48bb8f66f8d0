/**
 * @module traffic/split
 * A route's `split`, compiled: which service one request goes to. Rule entries (headers,
 * cookies, consumer) are checked first, in order; then the request's bucket (0–9999: from
 * its sticky cookie, its consumer's hash, or chance) falls in one weighted entry's share or
 * in the rest, which is the route's own service. Only the choice of service is made here:
 * the chosen service's selector, health, breaker and retries do the rest as for any route.
 */
import type { RouteConfig, StringMatcherConfig } from "../config/schema/index.ts";
import { combinedHeaderValue } from "../proxy/headers.ts";
import type { Service } from "../upstream/service.ts";
import { cookieValue, stickyCookie } from "./sticky-cookie.ts";

type Headers = Readonly<Record<string, string | string[] | undefined>>;
type ValueTest = (value: string | undefined) => boolean;

/** Where one request goes, and the cookie to set when the gateway just gave it a bucket. */
export interface SplitChoice {
  service: Service;
  setCookie: string | undefined;
}

interface Rule {
  service: Service;
  headers: [string, ValueTest][];
  cookies: [string, ValueTest][];
  consumers: ReadonlySet<string> | undefined;
}

/** Buckets per request: weights are percent with two decimals. */
const buckets = 10_000;

/** A compiled split; one per route that has one, built with the runtime. */
export class TrafficSplit {
  readonly #rules: Rule[];
  /** Weighted entries as [upper bucket bound (exclusive), service], in order. */
  readonly #shares: [number, Service][];
  readonly #fallback: Service;
  readonly #sticky: RouteConfig["sticky"];
  readonly #cookie: ReturnType<typeof stickyCookie>;
  readonly #salt: string;

  constructor(route: RouteConfig, services: ReadonlyMap<string, Service>) {
    const entries = route.split ?? [];
    this.#fallback = services.get(route.service)!;
    this.#rules = entries
      .filter((entry) => entry.match !== undefined)
      .map((entry) => {
        const { headers = {}, cookies = {}, consumer } = entry.match!;
        return {
          service: services.get(entry.service)!,
          headers: Object.entries(headers).map(([name, m]) => [name.toLowerCase(), test(m)]),
          cookies: Object.entries(cookies).map(([name, m]) => [name, test(m)]),
          consumers:
            consumer === undefined
              ? undefined
              : new Set(typeof consumer === "string" ? [consumer] : consumer),
        };
      });
    let bound = 0;
    this.#shares = [];
    for (const entry of entries) {
      if (entry.weight === undefined) continue;
      bound += Math.round(entry.weight * 100);
      this.#shares.push([bound, services.get(entry.service)!]);
    }
    this.#sticky = route.sticky;
    this.#cookie = stickyCookie(route.name);
    this.#salt = `${route.name}\u0000`;
  }

  /** The service for a request (`consumer`: the name an authentication plugin gave it). */
  pick(headers: Headers, consumer: string | undefined): SplitChoice {
    const cookieHeader = combinedCookies(headers.cookie);
    for (const rule of this.#rules) {
      if (rule.consumers && (consumer === undefined || !rule.consumers.has(consumer))) continue;
      if (!rule.headers.every(([name, ok]) => ok(combinedHeaderValue(headers[name])))) continue;
      if (!rule.cookies.every(([name, ok]) => ok(cookieValue(cookieHeader, name)))) continue;
      return { service: rule.service, setCookie: undefined };
    }
    if (this.#shares.length === 0) return { service: this.#fallback, setCookie: undefined };
    let bucket: number;
    let setCookie: string | undefined;
    if (this.#sticky === "consumer" && consumer !== undefined) {
      bucket = fnv1a(this.#salt + consumer) % buckets;
    } else if (this.#sticky === "cookie") {
      const kept = this.#cookie.read(cookieHeader);
      if (kept !== undefined) bucket = kept;
      else {
        bucket = Math.floor(Math.random() * buckets);
        setCookie = this.#cookie.write(bucket);
      }
    } else bucket = Math.floor(Math.random() * buckets);
    return { service: this.serviceOf(bucket), setCookie };
  }

  /** The weighted entry's service a bucket falls in, or the route's own. */
  serviceOf(bucket: number): Service {
    for (const [bound, service] of this.#shares) if (bucket < bound) return service;
    return this.#fallback;
  }
}

function test(matcher: StringMatcherConfig): ValueTest {
  if (typeof matcher === "string") return (value) => value === matcher;
  const regex = new RegExp(matcher.regex);
  return (value) => value !== undefined && regex.test(value);
}

/** HTTP/2 may split cookies into several headers; they join with `; `. */
function combinedCookies(value: string | string[] | undefined): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : value.join("; ");
}

/**
 * FNV-1a, 32 bits: the same consumer lands in the same bucket on every node and every
 * restart, and consumers spread evenly enough over 10,000 buckets.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
