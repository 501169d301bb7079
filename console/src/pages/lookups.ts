import { api, type Page, totalText } from "../api/client.ts";
import type { LookupResult } from "../components/LookupTagsInput.tsx";
import type { Group, Role, User } from "./types.ts";

/** How many principals a lookup offers: enough to pick from, a single index range to read. */
export const PRINCIPAL_MATCHES = 8;
/** How many resource values a lookup offers. */
export const RESOURCE_VALUE_MATCHES = 20;

/** A principal kind of a policy item, with the directory list that names it. */
export type PrincipalKind = "users" | "groups" | "roles";

const nameOf = {
  users: (u: User) => u.username,
  groups: (g: Group) => g.name,
  roles: (r: Role) => r.name,
} as const;

const count = (n: number) => n.toLocaleString("en");

/**
 * Users, groups or roles whose name starts with `text` (case-insensitive): the directory's
 * `prefix` filter, one index range (`users_username_prefix`, `groups_name_prefix`), a page of
 * `PRINCIPAL_MATCHES` and a bounded total ("8 of 1,000+"): counting every user starting with "u"
 * among a million took a second, for a number nobody picking a name needs exactly.
 */
export async function lookupPrincipals(kind: PrincipalKind, text: string, signal: AbortSignal): Promise<LookupResult> {
  const page = await api<Page<User & Group & Role>>("GET", `/v1/${kind}`, {
    query: { prefix: text, limit: PRINCIPAL_MATCHES, total: "bounded" },
    signal,
  });
  const values = page.items.map((p) => nameOf[kind](p));
  return {
    values,
    summary: `${count(values.length)} of ${totalText(page)} ${kind} starting with “${text}”`,
  };
}

/** Whether the directory holds a user, group or role spelled exactly `name` (the engine matches the spelling). */
export async function principalExists(kind: PrincipalKind, name: string, signal: AbortSignal): Promise<boolean> {
  const query =
    kind === "users" ? { username: name } : kind === "groups" ? { name } : { prefix: name, limit: PRINCIPAL_MATCHES };
  const page = await api<Page<User & Group & Role>>("GET", `/v1/${kind}`, { query, signal });
  return page.items.some((p) => nameOf[kind](p) === name);
}

/**
 * Values the service's policies already use at resource level `resource`, starting with `text`
 * (`GET /v1/services/{service}/resource-values`), spelled as a policy holding them spells them.
 */
export async function lookupResourceValues(
  service: string,
  resource: string,
  text: string,
  signal: AbortSignal,
): Promise<LookupResult> {
  const found = await api<{ items: { value: string }[]; hasMore: boolean }>(
    "GET",
    `/v1/services/${encodeURIComponent(service)}/resource-values`,
    { query: { resource, startsWith: text, pageSize: RESOURCE_VALUE_MATCHES }, signal },
  );
  const n = found.items.length;
  const what = `${count(n)}${found.hasMore ? "+" : ""} ${n === 1 ? "value" : "values"} already used`;
  return {
    values: found.items.map((v) => v.value),
    summary: text ? `${what} starting with “${text}”` : what,
  };
}
