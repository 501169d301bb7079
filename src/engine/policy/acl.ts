import type { PreparedServiceDef } from "../model/service-def.ts";
import type {
  AclAccessResult,
  AclMaskInfo,
  AclPermissions,
  RangerDataMaskPolicyItem,
  RangerPolicy,
  RangerPolicyItem,
  RangerRowFilterPolicyItem,
  ResourceACLs,
} from "../types.ts";
import type { PolicyEvaluator } from "./policy-evaluator.ts";

/**
 * Resource ACLs (Ranger's `RangerResourceACLs` and `RangerPolicyEvaluator.PolicyACLSummary`):
 * which users, groups and roles a policy allows, denies or conditionally allows each access type,
 * summarised statically per policy, then merged over the policies matching a resource in
 * evaluation order. Values follow Ranger: -1 denied, 0 undetermined, 1 allowed, 2 conditional.
 */
export const ACCESS_DENIED = -1;
export const ACCESS_UNDETERMINED = 0;
export const ACCESS_ALLOWED = 1;
export const ACCESS_CONDITIONAL = 2;

const GROUP_PUBLIC = "public";
const USER_CURRENT = "{USER}";
const RESOURCE_OWNER = "{OWNER}";
const ADMIN_ACCESS = "_admin";

type ItemKind = "allow" | "deny" | "allowException" | "denyException";

/** One access type's result inside a policy summary (`PolicyACLSummary.AccessResult`). */
interface SummaryResult {
  result: number;
  hasSeenDeny: boolean;
}

type SummaryMap = Map<string, Map<string, SummaryResult>>;

/** A policy's ACL summary: computed once per compiled policy, on first use. */
export interface PolicyAclSummary {
  readonly users: SummaryMap;
  readonly groups: SummaryMap;
  readonly roles: SummaryMap;
  readonly dataMasks: readonly AclMaskInfo[];
  readonly rowFilters: readonly AclMaskInfo[];
}

const summaries = new WeakMap<PolicyEvaluator, PolicyAclSummary>();

/** The ACL summary of a compiled policy (cached). `normalizeAccess` strips tag component prefixes. */
export function policyAclSummary(
  ev: PolicyEvaluator,
  sd: PreparedServiceDef,
  normalizeAccess: (t: string) => string | null,
): PolicyAclSummary {
  let s = summaries.get(ev);
  if (!s) {
    s = buildSummary(ev.policy, sd, normalizeAccess);
    summaries.set(ev, s);
  }
  return s;
}

function hasConditions(item: RangerPolicyItem): boolean {
  return (item.conditions?.length ?? 0) > 0;
}

function isContextSensitive(item: RangerPolicyItem): boolean {
  return hasConditions(item) || (item.users ?? []).includes(RESOURCE_OWNER);
}

function hasNonPublicGroupOrConditions(items: readonly RangerPolicyItem[]): boolean {
  for (const it of items) {
    if (hasConditions(it)) return true;
    const groups = it.groups ?? [];
    if (groups.length > 0 && !groups.includes(GROUP_PUBLIC)) return true;
  }
  return false;
}

function grantsEveryone(it: RangerPolicyItem): boolean {
  return (it.groups ?? []).includes(GROUP_PUBLIC) || (it.users ?? []).includes(USER_CURRENT);
}

function hasPublicGroupAndUserInException(
  grants: readonly RangerPolicyItem[],
  exceptions: readonly RangerPolicyItem[],
) {
  if (exceptions.length === 0) return false;
  if (!grants.some(grantsEveryone)) return false;
  return !exceptions.some(grantsEveryone);
}

/** Normalises an item's access list (tag prefixes stripped); items left without accesses are pruned. */
function normalizeItems<T extends RangerPolicyItem>(
  items: readonly T[] | undefined,
  normalizeAccess: (t: string) => string | null,
): T[] {
  const out: T[] = [];
  for (const it of items ?? []) {
    const accesses = [];
    for (const a of it.accesses ?? []) {
      const t = normalizeAccess(a.type ?? "");
      if (t !== null) accesses.push({ type: t, isAllowed: a.isAllowed !== false });
    }
    if ((it.accesses?.length ?? 0) > 0 && accesses.length === 0) continue;
    out.push({ ...it, accesses });
  }
  return out;
}

function buildSummary(
  policy: RangerPolicy,
  sd: PreparedServiceDef,
  normalizeAccess: (t: string) => string | null,
): PolicyAclSummary {
  const summary = {
    users: new Map(),
    groups: new Map(),
    roles: new Map(),
    dataMasks: [] as AclMaskInfo[],
    rowFilters: [] as AclMaskInfo[],
  };
  const allow = normalizeItems(policy.policyItems, normalizeAccess);
  const deny = normalizeItems(policy.denyPolicyItems, normalizeAccess);
  const allowEx = normalizeItems(policy.allowExceptions, normalizeAccess);
  const denyEx = normalizeItems(policy.denyExceptions, normalizeAccess);
  const implied = new Map<string, readonly string[]>();
  const accessNames = new Set(sd.accessTypeNames.map((a) => a.toLowerCase()));
  for (const [k, v] of sd.impliedGrants) if (accessNames.has(k)) implied.set(k, v);

  const condDenyEx = hasNonPublicGroupOrConditions(denyEx) || hasPublicGroupAndUserInException(deny, denyEx);
  const condAllowEx = hasNonPublicGroupOrConditions(allowEx) || hasPublicGroupAndUserInException(allow, allowEx);
  for (const it of deny) processItem(summary, it, "deny", condDenyEx, implied);
  if (!condDenyEx) for (const it of denyEx) processItem(summary, it, "denyException", false, implied);
  for (const it of allow) processItem(summary, it, "allow", condAllowEx, implied);
  if (!condAllowEx) for (const it of allowEx) processItem(summary, it, "allowException", false, implied);
  for (const it of normalizeItems(policy.rowFilterPolicyItems, normalizeAccess) as RangerRowFilterPolicyItem[])
    summary.rowFilters.push(maskEntry(it, { filterInfo: { ...(it.rowFilterInfo ?? {}) } }));
  for (const it of normalizeItems(policy.dataMaskPolicyItems, normalizeAccess) as RangerDataMaskPolicyItem[])
    summary.dataMasks.push(maskEntry(it, { maskInfo: { ...(it.dataMaskInfo ?? {}) } }));
  const isDenyAllElse = policy.isDenyAllElse === true;
  const allNames = isDenyAllElse ? sd.accessTypeNames.filter((a) => a.toLowerCase() !== "all") : [];
  finalizeSummary(summary, isDenyAllElse, allNames);
  return summary;
}

function maskEntry(it: RangerPolicyItem, info: Pick<AclMaskInfo, "maskInfo" | "filterInfo">): AclMaskInfo {
  const users = new Set(it.users ?? []);
  const groups = new Set(it.groups ?? []);
  if (users.delete(USER_CURRENT)) groups.add(GROUP_PUBLIC);
  return {
    users: [...users],
    groups: [...groups],
    roles: [...new Set(it.roles ?? [])],
    accessTypes: [...new Set((it.accesses ?? []).map((a) => a.type ?? ""))],
    ...info,
    isConditional: isContextSensitive(it),
  };
}

function processItem(
  summary: { users: SummaryMap; groups: SummaryMap; roles: SummaryMap },
  item: RangerPolicyItem,
  kind: ItemKind,
  isConditional: boolean,
  implied: ReadonlyMap<string, readonly string[]>,
): void {
  const cond = hasConditions(item) || isConditional;
  let result: number | null;
  if (kind === "allow") result = cond ? ACCESS_CONDITIONAL : ACCESS_ALLOWED;
  else if (kind === "deny") result = cond ? ACCESS_CONDITIONAL : ACCESS_DENIED;
  else if (kind === "allowException") result = cond ? null : ACCESS_DENIED;
  else result = cond ? null : ACCESS_ALLOWED;
  if (result === null) return;
  const types: string[] = [];
  const seen = new Set<string>();
  for (const a of item.accesses ?? []) {
    const t = a.type ?? "";
    types.push(t);
    seen.add(t.toLowerCase());
  }
  if (item.delegateAdmin === true) types.push(ADMIN_ACCESS);
  // one round of implied-grant expansion, as Ranger does
  for (const a of item.accesses ?? []) {
    for (const g of implied.get((a.type ?? "").toLowerCase()) ?? []) {
      if (seen.has(g)) continue;
      seen.add(g);
      types.push(g);
    }
  }
  let hasPublic = false;
  for (const t of types) {
    for (const u of item.users ?? []) {
      if (u === USER_CURRENT) {
        hasPublic = true;
        continue;
      }
      if (!u || u.trim() === "") continue;
      addAccess(summary.users, u, t, result, kind);
    }
    for (const g of item.groups ?? []) {
      if (g === GROUP_PUBLIC) {
        hasPublic = true;
        continue;
      }
      addAccess(summary.groups, g, t, result, kind);
    }
    if (hasPublic) addAccess(summary.groups, GROUP_PUBLIC, t, result, kind);
    for (const r of item.roles ?? []) addAccess(summary.roles, r, t, result, kind);
  }
}

/** `PolicyACLSummary.addAccess`: the arithmetic on -1/0/1/2 is Ranger's. */
function addAccess(map: SummaryMap, name: string, accessType: string, access: number, kind: ItemKind): void {
  let info = map.get(name);
  if (!info) {
    info = new Map();
    map.set(name, info);
  }
  const current = info.get(accessType);
  if (!current) {
    if (kind === "allow" || kind === "deny") info.set(accessType, { result: access, hasSeenDeny: kind === "deny" });
    return;
  }
  if (access === ACCESS_DENIED) {
    if (current.result === ACCESS_CONDITIONAL) current.result = access;
    else {
      let v = current.result + access;
      if (kind === "deny") v = v < ACCESS_DENIED ? ACCESS_DENIED : v;
      else v = v < ACCESS_UNDETERMINED ? ACCESS_UNDETERMINED : v;
      current.result = v;
    }
  } else if (access === ACCESS_ALLOWED) {
    if (current.result === ACCESS_CONDITIONAL) {
      if (kind === "allow") current.result = access;
    } else {
      let v = current.result + access;
      if (kind === "allow") {
        v = v > ACCESS_ALLOWED ? ACCESS_ALLOWED : v;
        info.set(accessType, { result: v, hasSeenDeny: false });
      } else {
        v = v > ACCESS_UNDETERMINED ? ACCESS_UNDETERMINED : v;
        current.result = v;
      }
    }
  } else if (current.result === ACCESS_UNDETERMINED) current.result = access;
}

function finalizeSummary(
  s: { users: SummaryMap; groups: SummaryMap },
  isDenyAllElse: boolean,
  allNames: readonly string[],
): void {
  let pub = s.groups.get(GROUP_PUBLIC);
  if (pub) {
    for (const [accessType, r] of pub) {
      if (r.result !== ACCESS_DENIED && r.result !== ACCESS_ALLOWED) continue;
      for (const [name, m] of [...s.users]) {
        m.delete(accessType);
        if (m.size === 0) s.users.delete(name);
      }
      for (const [name, m] of [...s.groups]) {
        if (name === GROUP_PUBLIC) continue;
        m.delete(accessType);
        if (m.size === 0) s.groups.delete(name);
      }
    }
  }
  if (!isDenyAllElse) return;
  for (const m of [...s.users.values(), ...s.groups.values()])
    for (const r of m.values()) if (r.result === ACCESS_UNDETERMINED) r.result = ACCESS_DENIED;
  for (const m of [...s.users.values(), ...s.groups.values()])
    for (const a of allNames) if (!m.has(a)) m.set(a, { result: ACCESS_DENIED, hasSeenDeny: true });
  pub = s.groups.get(GROUP_PUBLIC);
  if (!pub) {
    pub = new Map();
    s.groups.set(GROUP_PUBLIC, pub);
  }
  for (const a of allNames) {
    if (pub.has(a)) continue;
    let denied = true;
    for (const m of s.users.values()) {
      const r = m.get(a);
      if (!r || r.result !== ACCESS_DENIED) {
        denied = false;
        break;
      }
    }
    if (denied)
      for (const [name, m] of s.groups) {
        if (name === GROUP_PUBLIC) continue;
        const r = m.get(a);
        if (!r || r.result !== ACCESS_DENIED) {
          denied = false;
          break;
        }
      }
    pub.set(a, { result: denied ? ACCESS_DENIED : ACCESS_CONDITIONAL, hasSeenDeny: true });
  }
}

/** Accumulates ACLs over policies (Ranger's `RangerResourceACLs`). */
export class AclCollector {
  readonly users: AclPermissions = {};
  readonly groups: AclPermissions = {};
  readonly roles: AclPermissions = {};
  readonly dataMasks: AclMaskInfo[] = [];
  readonly rowFilters: AclMaskInfo[] = [];

  /**
   * Adds one policy's summary. `isConditional` turns every entry into CONDITIONAL (policy
   * conditions, validity schedules, temporal tags, or a match only through `{USER}`-style macros).
   */
  addPolicy(summary: PolicyAclSummary, policyType: number, isConditional: boolean, policy: RangerPolicy): void {
    const ref = { id: policy.id ?? -1, name: policy.name };
    if (policyType === 0) {
      const apply = (from: SummaryMap, to: AclPermissions) => {
        for (const [name, accesses] of from)
          for (const [accessType, r] of accesses) {
            let result = isConditional ? ACCESS_CONDITIONAL : r.result;
            if (result === ACCESS_UNDETERMINED) result = ACCESS_DENIED;
            setAccess(to, name, accessType, result, ref);
          }
      };
      apply(summary.users, this.users);
      apply(summary.groups, this.groups);
      apply(summary.roles, this.roles);
      return;
    }
    const list = policyType === 1 ? summary.dataMasks : summary.rowFilters;
    const target = policyType === 1 ? this.dataMasks : this.rowFilters;
    for (const e of list) {
      target.push({
        ...e,
        users: [...e.users],
        groups: [...e.groups],
        roles: [...e.roles],
        accessTypes: [...e.accessTypes],
        isConditional: e.isConditional || isConditional,
      });
    }
  }

  /** `RangerResourceACLs.finalizeAcls`: a decided `public` entry overrides undecided ones; all become final. */
  finalize(): void {
    const pub = this.groups[GROUP_PUBLIC];
    if (pub) {
      for (const [accessType, r] of Object.entries(pub)) {
        if (r.result !== ACCESS_DENIED && r.result !== ACCESS_ALLOWED) continue;
        for (const m of Object.values(this.users)) if (m[accessType] && !m[accessType].isFinal) delete m[accessType];
        for (const [name, m] of Object.entries(this.groups)) {
          if (name === GROUP_PUBLIC) continue;
          if (m[accessType] && !m[accessType].isFinal) delete m[accessType];
        }
      }
    }
    for (const map of [this.users, this.groups, this.roles]) {
      for (const [name, m] of Object.entries(map)) {
        const entries = Object.values(m);
        if (entries.length === 0) delete map[name];
        else for (const e of entries) e.isFinal = true;
      }
    }
  }

  result(): ResourceACLs {
    return {
      userACLs: this.users,
      groupACLs: this.groups,
      roleACLs: this.roles,
      dataMasks: this.dataMasks,
      rowFilters: this.rowFilters,
    };
  }
}

/**
 * `RangerResourceACLs.setXAccessInfo` + `AccessResult.setResult`: a final entry keeps its result;
 * a denial becomes final. Deliberate difference: Ranger also overwrites the policy reference of a
 * final entry; here the entry keeps the policy that decided it.
 */
function setAccess(
  map: AclPermissions,
  name: string,
  accessType: string,
  result: number,
  policy: { id: number; name?: string },
): void {
  let m = map[name];
  if (!m) {
    m = {};
    map[name] = m;
  }
  const cur: AclAccessResult | undefined = m[accessType];
  if (!cur) {
    m[accessType] = { result, isFinal: result === ACCESS_DENIED, policy };
    return;
  }
  if (cur.isFinal) return;
  cur.result = result;
  cur.policy = policy;
  if (result === ACCESS_DENIED) cur.isFinal = true;
}
