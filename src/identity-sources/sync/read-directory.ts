import type { Client, Entry } from "ldapts";
import { readableDn } from "../ldap.client.ts";
import type { LdapConfig } from "../ldap-config.ts";

/** A user as the directory holds it, under the source's attribute mapping. */
export interface DirectoryUserEntry {
  /** entryUUID / objectGUID (hex): the identity that survives renames and moves. */
  entryId: string;
  dn: string;
  username: string;
  email: string | null;
  displayName: string | null;
  /** Group DNs from `memberOf` (membership `memberOf` only). */
  memberOf: string[];
}

/** A group as the directory holds it. */
export interface DirectoryGroupEntry {
  entryId: string;
  dn: string;
  name: string;
  /** Member DNs (`dn`), usernames (`uid`), or the DNs of the groups it is in (`memberOf` + walk). */
  members: string[];
  memberOf: string[];
}

/** What one run read: every matching entry (full) or those changed since the mark (incremental). */
export interface DirectorySnapshot {
  users: DirectoryUserEntry[];
  groups: DirectoryGroupEntry[];
  /** Entries without the id or name attribute, skipped and reported. */
  skipped: { dn: string; reason: string }[];
  /** The highest change mark seen (`modifyTimestamp` / `uSNChanged`), for the next incremental run. */
  mark: string | null;
}

/** Reports reading progress: entries read so far of each kind. */
export type ReadProgress = (read: { users: number; groups: number }) => void;

const RANGE = /^(.+);range=(\d+)-(\d+|\*)$/i;

/** Every value of an attribute as text (binary ids as hex); `;range=` keys count as the attribute. */
function values(entry: Entry, attribute: string): { values: string[]; rangeEnd: string | null } {
  const lower = attribute.toLowerCase();
  for (const key of Object.keys(entry)) {
    const range = RANGE.exec(key);
    if (key.toLowerCase() !== lower && !(range && (range[1] as string).toLowerCase() === lower)) continue;
    const raw = entry[key];
    const list = (Array.isArray(raw) ? raw : [raw]).map((v) =>
      Buffer.isBuffer(v) ? v.toString("hex") : String(v),
    ) as string[];
    return { values: list, rangeEnd: range ? (range[3] as string) : null };
  }
  return { values: [], rangeEnd: null };
}

const first = (entry: Entry, attribute: string) => values(entry, attribute).values[0] ?? null;

/**
 * Reads a group's member attribute completely when the directory answered only a range of it
 * (Active Directory: `member;range=0-1499` for groups over 1,500 members): asks for the next
 * range by DN until a range ends in `*`. Returns the values of the search result when whole.
 */
async function allMembers(client: Client, entry: Entry, attribute: string): Promise<string[]> {
  let { values: list, rangeEnd } = values(entry, attribute);
  const collected = [...list];
  while (rangeEnd !== null && rangeEnd !== "*") {
    const next = `${attribute};range=${Number(rangeEnd) + 1}-*`;
    const { searchEntries } = await client.search(entry.dn, { scope: "base", attributes: [next] });
    const found = searchEntries[0];
    if (!found) break;
    ({ values: list, rangeEnd } = values(found, attribute));
    collected.push(...list);
    if (list.length === 0) break;
  }
  return collected;
}

function changedSince(filter: string, config: LdapConfig, mark: string | null): string {
  return mark ? `(&${filter}(${config.changeAttribute}>=${mark}))` : filter;
}

function laterMark(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  // Generalized time sorts as text; uSNChanged is a number.
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) >= BigInt(b) ? a : b;
  return a >= b ? a : b;
}

/**
 * Reads the users and groups of a source page by page (the paged results control: no answer
 * ever holds more than `pageSize` entries), following ranged member lists. Reads only; a failure
 * anywhere (the directory going away mid-run) rejects, and the caller has applied nothing.
 * With `mark`, only entries changed at or after it are read (an incremental run).
 */
export async function readDirectory(
  client: Client,
  config: LdapConfig,
  mark: string | null,
  onProgress: ReadProgress,
): Promise<DirectorySnapshot> {
  const snapshot: DirectorySnapshot = { users: [], groups: [], skipped: [], mark: null };
  const userAttributes = [
    config.entryIdAttribute,
    config.userNameAttribute,
    config.userEmailAttribute,
    config.userDisplayNameAttribute,
    config.changeAttribute,
    ...(config.membership === "memberOf" ? ["memberOf"] : []),
  ];
  const binary = config.entryIdAttribute.toLowerCase() === "objectguid" ? [config.entryIdAttribute] : [];
  const pages = (base: string, filter: string, attributes: string[]) =>
    client.searchPaginated(base, {
      scope: "sub",
      filter: changedSince(filter, config, mark),
      attributes,
      explicitBufferAttributes: binary,
      paged: { pageSize: config.pageSize },
    });
  for await (const page of pages(config.userBaseDn ?? config.baseDn, config.userFilter, userAttributes)) {
    for (const entry of page.searchEntries) {
      const dn = readableDn(entry.dn);
      const entryId = first(entry, config.entryIdAttribute);
      const username = first(entry, config.userNameAttribute);
      if (!entryId || !username) {
        snapshot.skipped.push({ dn, reason: `no ${entryId ? config.userNameAttribute : config.entryIdAttribute}` });
        continue;
      }
      snapshot.mark = laterMark(snapshot.mark, first(entry, config.changeAttribute));
      snapshot.users.push({
        entryId,
        dn,
        username,
        email: first(entry, config.userEmailAttribute),
        displayName: first(entry, config.userDisplayNameAttribute),
        memberOf: config.membership === "memberOf" ? values(entry, "memberOf").values.map(readableDn) : [],
      });
    }
    onProgress({ users: snapshot.users.length, groups: 0 });
  }
  const memberAttribute = config.membership === "memberOf" ? null : config.groupMemberAttribute;
  const groupAttributes = [
    config.entryIdAttribute,
    config.groupNameAttribute,
    config.changeAttribute,
    ...(memberAttribute ? [memberAttribute] : ["memberOf"]),
  ];
  for await (const page of pages(config.groupBaseDn ?? config.baseDn, config.groupFilter, groupAttributes)) {
    for (const entry of page.searchEntries) {
      const dn = readableDn(entry.dn);
      const entryId = first(entry, config.entryIdAttribute);
      const name = first(entry, config.groupNameAttribute);
      if (!entryId || !name) {
        snapshot.skipped.push({ dn, reason: `no ${entryId ? config.groupNameAttribute : config.entryIdAttribute}` });
        continue;
      }
      snapshot.mark = laterMark(snapshot.mark, first(entry, config.changeAttribute));
      const members = memberAttribute ? await allMembers(client, entry, memberAttribute) : [];
      snapshot.groups.push({
        entryId,
        dn,
        name,
        members: config.membership === "dn" ? members.map(readableDn) : members,
        memberOf: memberAttribute ? [] : values(entry, "memberOf").values.map(readableDn),
      });
    }
    onProgress({ users: snapshot.users.length, groups: snapshot.groups.length });
  }
  if (config.membership === "memberOf" && config.memberOfNesting === "inChain") {
    await readInChainMembers(client, config, snapshot);
  }
  return snapshot;
}

/**
 * `memberOf` with `inChain`: asks Active Directory for every user in each group, directly or
 * through nested groups (`memberOf:1.2.840.113556.1.4.1941:=<group dn>`), one paged search per
 * group, and flattens: each group lists its transitive users, and no nesting is kept.
 */
async function readInChainMembers(client: Client, config: LdapConfig, snapshot: DirectorySnapshot): Promise<void> {
  for (const group of snapshot.groups) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL must be escaped in LDAP filters
    const escaped = group.dn.replace(/[\\()*\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
    for await (const page of client.searchPaginated(config.userBaseDn ?? config.baseDn, {
      scope: "sub",
      filter: `(&${config.userFilter}(memberOf:1.2.840.113556.1.4.1941:=${escaped}))`,
      attributes: ["dn"],
      paged: { pageSize: config.pageSize },
    })) {
      for (const entry of page.searchEntries) group.members.push(readableDn(entry.dn));
    }
    group.memberOf = [];
  }
}
