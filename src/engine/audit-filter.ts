import type { MatchEnv } from "./match/element-matcher.ts";
import { PolicyResourceMatcher } from "./match/policy-resource-matcher.ts";
import type { PreparedServiceDef } from "./model/service-def.ts";
import type { AuditFilter, RangerAccessRequest, RangerAccessResult } from "./types.ts";

/**
 * Audit filters (`ranger.plugin.audit.filters`, Ranger's `RangerAuditPolicyEvaluator`): after
 * the decision, the first filter whose result/resource/principal/action clauses all match sets
 * `isAudited`. Filters are evaluated in the order listed.
 */
export class AuditFilterEvaluator {
  private readonly filter: AuditFilter;
  private readonly matcher: PolicyResourceMatcher | null;
  private readonly accessTypes: ReadonlySet<string>;
  private readonly actions: ReadonlySet<string>;

  constructor(filter: AuditFilter, sd: PreparedServiceDef) {
    this.filter = filter;
    const res = filter.resources;
    this.matcher = res && Object.keys(res).length > 0 ? new PolicyResourceMatcher(sd, 0, res) : null;
    this.accessTypes = new Set((filter.accessTypes ?? []).map((a) => a.toLowerCase()));
    this.actions = new Set(filter.actions ?? []);
  }

  matches(req: RangerAccessRequest, res: RangerAccessResult, roles: ReadonlySet<string>, env: MatchEnv): boolean {
    const f = this.filter;
    if (f.accessResult) {
      const actual = !res.isAccessDetermined ? "NOT_DETERMINED" : res.isAllowed ? "ALLOWED" : "DENIED";
      if (f.accessResult !== actual) return false;
    }
    if (this.matcher) {
      const mt = this.matcher.getMatchType(req.resource, undefined, env);
      if (mt !== "SELF" && mt !== "SELF_AND_ALL_DESCENDANTS") return false;
    }
    const users = f.users ?? [];
    const groups = f.groups ?? [];
    const rolesList = f.roles ?? [];
    if (users.length > 0 || groups.length > 0 || rolesList.length > 0) {
      const user = req.user;
      let ok = false;
      if (user !== undefined && (users.includes(user) || users.includes("{USER}"))) ok = true;
      if (!ok && users.includes("{OWNER}") && user !== undefined && user === req.resource.ownerUser) ok = true;
      if (!ok && (groups.includes("public") || (req.userGroups ?? []).some((g) => groups.includes(g)))) ok = true;
      if (!ok && rolesList.some((r) => roles.has(r))) ok = true;
      if (!ok) return false;
    }
    if (this.accessTypes.size > 0 || this.actions.size > 0) {
      const at = (req.accessType || "_any").toLowerCase();
      const hit = this.accessTypes.has(at) || (req.action !== undefined && this.actions.has(req.action));
      if (!hit) return false;
    }
    return true;
  }

  get isAudited(): boolean {
    return this.filter.isAudited === true;
  }
}

/** Parses `ranger.plugin.audit.filters` (JSON with single or double quotes) into filters. */
export function parseAuditFilters(raw: AuditFilter[] | string | undefined): AuditFilter[] {
  if (raw === undefined || raw === null || raw === "") return [];
  if (Array.isArray(raw)) return raw;
  try {
    return JSON.parse(raw) as AuditFilter[];
  } catch {
    try {
      return JSON.parse(raw.replace(/'/g, '"')) as AuditFilter[];
    } catch {
      return [];
    }
  }
}
