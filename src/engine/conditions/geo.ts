/**
 * Geo enrichment (Ranger's `RangerFileBasedGeolocationProvider`): the caller passes the text of
 * a geo file; the engine parses it once and, per request, adds `LOCATION_<prefix><FIELD>`
 * attributes for the client IP to the context. The engine never reads files itself.
 */
export interface GeoTable {
  readonly fields: readonly string[];
  readonly ranges: readonly { from: number; to: number; values: readonly string[] }[];
}

/** "1.2.3.4" → 16909060; null when not an IPv4 address. */
export function ipToNumber(ip: string): number | null {
  const parts = ip.trim().split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function parseGeoTable(text: string, ipInDotFormat: boolean): GeoTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  const header = (lines.shift() ?? "").split(",").map((s) => s.trim());
  const fields = header.slice(2);
  const ranges: { from: number; to: number; values: string[] }[] = [];
  for (const line of lines) {
    const cols = line.split(",").map((s) => s.trim());
    const from = ipInDotFormat ? ipToNumber(cols[0]) : Number(cols[0]);
    const to = ipInDotFormat ? ipToNumber(cols[1]) : Number(cols[1]);
    if (from === null || to === null || Number.isNaN(from) || Number.isNaN(to)) continue;
    ranges.push({ from, to, values: cols.slice(2) });
  }
  ranges.sort((a, b) => a.from - b.from);
  return { fields, ranges };
}

/** Attributes for `ip`, keyed `LOCATION_<prefix><FIELD>`; empty when not found. */
export function geoAttributes(table: GeoTable, ip: string | undefined, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!ip) return out;
  const n = ipToNumber(ip);
  if (n === null) return out;
  for (const r of table.ranges) {
    if (n >= r.from && n <= r.to) {
      table.fields.forEach((f, i) => {
        const v = r.values[i];
        if (v !== undefined && v !== "") out[`LOCATION_${prefix}${f}`] = v;
      });
      break;
    }
  }
  return out;
}
