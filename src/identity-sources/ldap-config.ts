/** Settings of an LDAP identity source (stored as JSON; the credential is stored apart). */
export interface LdapConfig {
  /** `ldap://host:389` or `ldaps://host:636`. */
  url: string;
  /** DN to bind as; empty for an anonymous bind. */
  bindDn: string;
  /** Where searches start. */
  baseDn: string;
  /** Narrower bases for users and groups; default `baseDn`. */
  userBaseDn?: string | undefined;
  groupBaseDn?: string | undefined;
  userFilter: string;
  groupFilter: string;
  /** Attribute holding a user's login name (`uid`, `sAMAccountName`). */
  userNameAttribute: string;
  /** Attribute holding a group's name (`cn`). */
  groupNameAttribute: string;
  /** Attribute listing a group's members by DN (`member`, `uniqueMember`). */
  groupMemberAttribute: string;
  startTls: boolean;
  /** Connect and operation timeout. */
  timeoutMs: number;
  /** Page size of the simple paged results control (RFC 2696). */
  pageSize: number;
  // ── scheduled sync (docs/identity-sync.md) ──
  /** `5m`, `1h`, ... or a cron expression (UTC); null = no scheduled runs (still runnable by hand). */
  syncSchedule: string | null;
  /** How often a run is a full one (which alone sees deletions): `24h`, ...; the others are incremental. */
  fullSyncEvery: string;
  /** The directory's stable id of an entry: `entryUUID` (OpenLDAP), `objectGUID` (AD). */
  entryIdAttribute: string;
  userEmailAttribute: string;
  userDisplayNameAttribute: string;
  /**
   * How groups list members: `dn` (the member attribute holds DNs: `member`, `uniqueMember`), `uid`
   * (it holds usernames: `memberUid`), `memberOf` (users list their groups; AD).
   */
  membership: "dn" | "uid" | "memberOf";
  /**
   * With `memberOf`: `walk` reads each group's own `memberOf` to keep the nesting; `inChain` asks
   * AD for every transitive member (`LDAP_MATCHING_RULE_IN_CHAIN`) and flattens it.
   */
  memberOfNesting: "walk" | "inChain";
  /** Attribute of incremental runs: `modifyTimestamp` or AD's `uSNChanged`. */
  changeAttribute: string;
}

/** Defaults that fit OpenLDAP and Active Directory alike. */
export const LDAP_DEFAULTS: Omit<LdapConfig, "url" | "baseDn"> = {
  bindDn: "",
  userFilter: "(|(objectClass=inetOrgPerson)(objectClass=person))",
  groupFilter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))",
  userNameAttribute: "uid",
  groupNameAttribute: "cn",
  groupMemberAttribute: "member",
  startTls: false,
  timeoutMs: 5000,
  pageSize: 500,
  syncSchedule: null,
  fullSyncEvery: "24h",
  entryIdAttribute: "entryUUID",
  userEmailAttribute: "mail",
  userDisplayNameAttribute: "displayName",
  membership: "dn",
  memberOfNesting: "walk",
  changeAttribute: "modifyTimestamp",
};

/**
 * Escapes a user's search text for an LDAP filter (RFC 4515) but keeps `*`, so callers can search
 * with wildcards (`sales*`) without being able to inject filter syntax.
 */
export function escapeFilterKeepingWildcards(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL must be escaped in LDAP filters
  return text.replace(/[\\()\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
