/**
 * @module proxy/client-address
 * Who the client is: the TCP peer, or, when the peer is a trusted proxy, the address it
 * reports in `X-Forwarded-For` (walked right to left past every trusted hop).
 */
import type { IncomingMessage } from "node:http";
import proxyAddr from "proxy-addr";

/** Finds the client address of a request. */
export type ClientAddressResolver = (req: IncomingMessage) => string;

/** Builds the resolver for a list of trusted proxy CIDRs; with none, the peer is the client. */
export function createClientAddressResolver(
  trustedProxies: readonly string[],
): ClientAddressResolver {
  if (trustedProxies.length === 0) return (req) => unmapIPv4(req.socket.remoteAddress ?? "");
  const trust = proxyAddr.compile([...trustedProxies]);
  return (req) => unmapIPv4(proxyAddr(req, trust));
}

/** Whether the TCP peer itself is a trusted proxy. */
export function createTrustedPeerTest(
  trustedProxies: readonly string[],
): (address: string) => boolean {
  if (trustedProxies.length === 0) return () => false;
  const trust = proxyAddr.compile([...trustedProxies]);
  return (address) => trust(address, 0);
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so logs and headers show IPv4 clients as IPv4. */
export function unmapIPv4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
