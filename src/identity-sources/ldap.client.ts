import { Client, type Entry, InvalidDNSyntaxError, NoSuchObjectError } from "ldapts";
import type { LdapConfig } from "./ldap-config.ts";

/** An entry as the directory returned it: attribute names as sent (AD adds `;range=a-b`). */
export type LdapEntry = Entry;

/** The DN named in a lookup does not exist, or is not a DN at all. */
export class DnNotFound extends Error {}

/**
 * Opens a connection, upgrades it with StartTLS when configured, binds, runs `fn` and unbinds.
 * Connections are not pooled: identity-source calls are rare admin operations.
 */
export async function withLdap<T>(
  config: LdapConfig,
  credential: string,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ url: config.url, timeout: config.timeoutMs, connectTimeout: config.timeoutMs });
  try {
    if (config.startTls) await client.startTLS({});
    if (config.bindDn) await client.bind(config.bindDn, credential);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => {});
  }
}

/**
 * Searches with the simple paged results control, so a directory's size limit per page never cuts
 * the answer short: every page is read before returning.
 */
export async function searchAll(
  client: Client,
  base: string,
  options: { filter: string; scope: "base" | "one" | "sub"; attributes: string[]; pageSize: number },
): Promise<LdapEntry[]> {
  const { searchEntries } = await client.search(base, {
    filter: options.filter,
    scope: options.scope,
    attributes: options.attributes,
    paged: { pageSize: options.pageSize },
  });
  return searchEntries.map((entry) => ({ ...entry, dn: readableDn(entry.dn) }));
}

/** Reads one entry by DN with a base search; throws DnNotFound when it is absent or malformed. */
export async function readEntry(client: Client, dn: string, filter: string, attributes: string[]): Promise<LdapEntry> {
  try {
    const { searchEntries } = await client.search(dn, { scope: "base", filter, attributes });
    const entry = searchEntries[0];
    if (!entry) throw new DnNotFound(dn);
    return { ...entry, dn: readableDn(entry.dn) };
  } catch (err) {
    if (err instanceof NoSuchObjectError || err instanceof InvalidDNSyntaxError)
      throw new DnNotFound(dn, { cause: err });
    throw err;
  }
}

const RANGE = /^(.+);range=(\d+)-(\d+|\*)$/i;

/**
 * Reads a multi-valued attribute completely, following Active Directory's range retrieval: AD
 * answers `member;range=0-1499` for large groups and expects the client to ask for
 * `member;range=1500-*` and so on until a range ends in `*` (Ranger stopped at the first 1,500).
 * Servers without ranges (OpenLDAP) answer the plain attribute at once.
 */
export async function readAllValues(
  fetch: (attribute: string) => Promise<LdapEntry>,
  attribute: string,
): Promise<string[]> {
  const values: string[] = [];
  let request = attribute;
  for (let round = 0; round < 10_000; round++) {
    const entry = await fetch(request);
    const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase() || RANGE.test(k));
    if (!key) return values;
    const raw = entry[key];
    const list = (Array.isArray(raw) ? raw : [raw]).map((v) =>
      readableDn(Buffer.isBuffer(v) ? v.toString("utf8") : String(v)),
    );
    values.push(...list);
    const match = RANGE.exec(key);
    if (!match || match[3] === "*") return values;
    request = `${attribute};range=${Number(match[3]) + 1}-*`;
  }
  throw new Error(`range retrieval of \`${attribute}\` did not end`);
}

/**
 * Rewrites hex escapes of RFC 4514 special characters (`\2C`) as string escapes (`\,`), the form
 * people type, so DNs read from the directory compare equal to DNs given in requests.
 */
export function readableDn(dn: string): string {
  return dn.replace(/\\([0-9A-Fa-f]{2})/g, (whole, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return ',+"\\<>;=#'.includes(char) ? `\\${char}` : char === " " ? " " : whole;
  });
}

const LDAP_RESULTS: Record<number, string> = {
  32: "no such object",
  34: "invalid dn syntax",
  49: "invalid credentials: the bind dn or password was refused",
  50: "insufficient access rights",
  52: "server unavailable",
  53: "server unwilling to perform",
};

/** A readable reason for an LDAP failure (ldapts reports result codes as ` Code: 0x31`). */
export function ldapFailure(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === "number" && LDAP_RESULTS[code]) return `${LDAP_RESULTS[code]} (ldap result ${code})`;
  const message = (err as Error).message?.trim();
  return message || (err as Error).name || "unknown ldap error";
}

/** First value of an attribute as a string, or null. */
export function firstValue(entry: LdapEntry, attribute: string): string | null {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return null;
  const raw = entry[key];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return null;
  return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}
