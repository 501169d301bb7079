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
};

/**
 * Escapes a user's search text for an LDAP filter (RFC 4515) but keeps `*`, so callers can search
 * with wildcards (`sales*`) without being able to inject filter syntax.
 */
export function escapeFilterKeepingWildcards(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL must be escaped in LDAP filters
  return text.replace(/[\\()\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
