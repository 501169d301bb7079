import { BlockList, isIP } from "node:net";

/**
 * A list of networks from a setting: comma-separated addresses and CIDR blocks, IPv4 or IPv6
 * (`GATEHOUSE_PLUGIN_DOWNLOAD_NETWORKS`). Node's own `BlockList` matches addresses, IPv4-mapped
 * IPv6 ones included. An empty setting gives null (no network is listed). Each malformed entry
 * is reported, quoted, with the rule it breaks, so the operator sees every mistake at once.
 */
export function parseNetworks(text: string): { networks: BlockList | null; problems: string[] } {
  const entries = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) return { networks: null, problems: [] };
  const networks = new BlockList();
  const problems: string[] = [];
  for (const entry of entries) {
    const [address = "", bits, extra] = entry.split("/");
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0) problems.push(`"${entry}": must be an IPv4 or IPv6 address, optionally with /prefix`);
    else if (extra !== undefined || !/^\d+$/.test(bits ?? String(max)) || prefix > max)
      problems.push(`"${entry}": the prefix length must be a whole number from 0 to ${max}`);
    else networks.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
  }
  return { networks: problems.length === 0 ? networks : null, problems };
}

/** Whether `address` (IPv4, IPv6 or IPv4-mapped IPv6) is in `networks`; false for a non-address. */
export function inNetworks(networks: BlockList | null, address: string): boolean {
  const family = isIP(address);
  return networks !== null && family !== 0 && networks.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * The client's address behind trusted proxies (`GATEHOUSE_TRUSTED_PROXIES`): walking from the
 * socket's peer leftwards through `X-Forwarded-For` (each proxy appends the address it received
 * from), the first address that is not a trusted proxy, or the leftmost when all are. A peer that
 * is not a trusted proxy is the client, whatever the header claims, so a client cannot choose
 * its address. This is the walk of `proxy-addr`, which Fastify applies to `request.ip` with the
 * same list (app.ts); it is written out for the decision fast lane, which answers first.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | string[] | undefined,
  trusted: BlockList | null,
): string {
  if (forwardedFor === undefined || !inNetworks(trusted, peer)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
    .split(",")
    .map((hop) => hop.trim())
    .reverse();
  let address = peer;
  for (const hop of hops) {
    if (!inNetworks(trusted, address)) break;
    address = hop;
  }
  return address;
}
