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
