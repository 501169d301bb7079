import type { AccessInfo, UserInfo } from "./pdp.schemas.ts";

/**
 * Ranger PDP's delegation users (`ranger.pdp.service.<name>.delegation.users`): callers that may
 * ask on behalf of other users, or vouch for a user's groups, roles and attributes, in a service.
 * Users listed for `*` are delegates in every service.
 */
export interface Delegation {
  /** Whether `caller` is a delegation user of `service` (false for a blank service, as Ranger). */
  isDelegate(service: string | null | undefined, caller: string): boolean;
}

/**
 * Parses `GATEHOUSE_RANGER_PDP_DELEGATION_USERS`: `service=user,user;*=user`. Each malformed
 * entry is reported, quoted, with the rule it breaks.
 */
export function parseDelegation(text: string): { delegation: Delegation; problems: string[] } {
  const byService = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const entry of text.split(";")) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    const service = eq < 0 ? "" : entry.slice(0, eq).trim();
    if (service === "") {
      problems.push(`"${entry.trim()}": must be \`service=user,user\` (\`*\` for every service)`);
      continue;
    }
    const users = entry
      .slice(eq + 1)
      .split(",")
      .map((u) => u.trim())
      .filter((u) => u.length > 0);
    if (users.length === 0) problems.push(`"${entry.trim()}": lists no user`);
    const set = byService.get(service) ?? new Set<string>();
    for (const u of users) set.add(u);
    byService.set(service, set);
  }
  // Delegates of `*` are delegates of every service (RangerPdpREST.initializeDelegationUsers)
  const everywhere = byService.get("*");
  if (everywhere) for (const set of byService.values()) for (const u of everywhere) set.add(u);
  return {
    delegation: {
      isDelegate(service, caller) {
        if (!service || service.trim() === "" || caller === "") return false;
        const users = byService.get(service) ?? everywhere;
        return users?.has(caller) ?? false;
      },
    },
    problems,
  };
}

/**
 * Whether a request needs a delegate (`RangerPdpREST.isDelegationNeeded`): the user is not the
 * caller, or the request supplies the user's groups, roles or attributes, or a resource's
 * attributes (its owner), none of which Ranger trusts from anyone else.
 */
export function needsDelegation(caller: string, user: UserInfo, accesses: readonly (AccessInfo | null)[]): boolean {
  if (user.name !== caller) return true;
  if (nonEmpty(user.attributes) || nonEmpty(user.groups) || nonEmpty(user.roles)) return true;
  for (const access of accesses) if (nonEmpty(access?.resource?.attributes)) return true;
  return false;
}

function nonEmpty(value: readonly unknown[] | Record<string, unknown> | null | undefined): boolean {
  if (value === null || value === undefined) return false;
  return Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0;
}
