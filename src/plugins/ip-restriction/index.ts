/**
 * @module plugins/ip-restriction
 * CIDR allow and deny lists on the client address, IPv4 and IPv6. The address is
 * `ctx.clientAddress`: the TCP peer, or what a peer listed in `gateway.trustedProxies`
 * reports in X-Forwarded-For, so an untrusted client cannot pick its own address.
 */
import proxyAddr from "proxy-addr";
import { z } from "zod";
import { cidr } from "../../config/schema/fields.ts";
import { definePlugin } from "../../pipeline/plugin.ts";

const schema = z
  .strictObject({
    allow: z
      .array(cidr)
      .min(1)
      .optional()
      .describe("Only these addresses may pass; every other address is refused."),
    deny: z
      .array(cidr)
      .min(1)
      .optional()
      .describe("These addresses are refused, even when `allow` lists them."),
  })
  .refine((config) => config.allow !== undefined || config.deny !== undefined, {
    message: "ip-restriction needs `allow`, `deny` or both",
  });

/** Matches an address against CIDRs; an unparseable address matches nothing. */
type AddressTest = (address: string) => boolean;

function compileRanges(ranges: readonly string[] | undefined): AddressTest | undefined {
  if (ranges === undefined) return undefined;
  // proxy-addr's matcher: parsed once here, IPv4-mapped IPv6 peers compared as IPv4.
  const test = proxyAddr.compile([...ranges]);
  return (address) => test(address, 0);
}

export const ipRestrictionPlugin = definePlugin({
  name: "ip-restriction",
  schema,
  // First of all plugins: a refused address should cost nothing else, CORS preflights included.
  priority: 3000,
  create(config) {
    const allowed = compileRanges(config.allow);
    const denied = compileRanges(config.deny);
    return {
      onRequest(ctx) {
        const address = ctx.clientAddress;
        const refused =
          denied?.(address) || (allowed !== undefined && !allowed(address)) || address === "";
        if (refused) ctx.fail("GATEHOUSE_IP_FORBIDDEN");
      },
    };
  },
});
