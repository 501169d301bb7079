import { PolicyEngine } from "../engine.ts";
import type {
  AclMaskInfo,
  AclPermissions,
  RangerAccessRequest,
  RangerPolicy,
  RangerServiceDef,
  ResourceACLs,
  SecurityZoneInfo,
  ServicePolicies,
} from "../types.ts";
import { enricherData } from "./engine-format.ts";
import { check, type FileReport } from "./report.ts";

/**
 * Ranger's ACL-provider format (`TestPolicyACLs`): `testCases[{name, servicePolicies, tests[{name,
 * resource, resourceMatchingScope?, userPermissions, groupPermissions, rolePermissions, dataMasks,
 * rowFilters}]}]`. Each test asks `getResourceACLs` for the resource (access `_any`, no user) and
 * compares what the Java harness compares: `result` and `isFinal` of every entry (not the policy),
 * and the mask/row-filter lists in order (principal and access-type sets, mask/filter info,
 * `isConditional`).
 */
type Json = Record<string, unknown>;

export function buildEngineFromServicePolicies(sp: ServicePolicies, root: string): PolicyEngine {
  const serviceDef = sp.serviceDef as RangerServiceDef;
  const base = enricherData(serviceDef, root);
  let tags = base.tags;
  const tagInfo = sp.tagPolicies;
  if (tagInfo?.serviceDef) {
    const extra = enricherData(tagInfo.serviceDef, root);
    Object.assign(base.geo, extra.geo);
    tags ??= extra.tags;
  }
  return new PolicyEngine({
    serviceName: sp.serviceName,
    serviceDef,
    policies: (sp.policies as RangerPolicy[]) ?? [],
    securityZones: sp.securityZones as Record<string, SecurityZoneInfo> | undefined,
    tagPolicies: tagInfo?.serviceDef
      ? {
          serviceName: tagInfo.serviceName,
          serviceDef: tagInfo.serviceDef,
          policies: tagInfo.policies ?? [],
          serviceConfig: tagInfo.serviceConfig,
        }
      : undefined,
    serviceTags: tags,
    serviceConfig: { raw: sp.serviceConfig ?? {} },
    policyVersion: sp.policyVersion,
    geo: base.geo,
  });
}

function normPermissions(p: unknown): Record<string, Record<string, { result: number; isFinal: boolean }>> {
  const out: Record<string, Record<string, { result: number; isFinal: boolean }>> = {};
  for (const [name, accesses] of Object.entries((p as AclPermissions | undefined) ?? {})) {
    const m: Record<string, { result: number; isFinal: boolean }> = {};
    for (const [at, r] of Object.entries(accesses ?? {})) m[at] = { result: r.result, isFinal: r.isFinal === true };
    out[name] = m;
  }
  return out;
}

const sortedSet = (v: unknown) => [...new Set((v as string[] | undefined) ?? [])].sort();

function normInfo(info: unknown): Record<string, string | null> | null {
  if (!info) return null;
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(info as Json)) out[k] = v === undefined || v === "" ? null : (v as string);
  for (const k of Object.keys(out)) if (out[k] === null) delete out[k];
  return out;
}

function normMasks(list: unknown): unknown[] {
  return ((list as AclMaskInfo[] | undefined) ?? []).map((m) => ({
    users: sortedSet(m.users),
    groups: sortedSet(m.groups),
    roles: sortedSet(m.roles),
    accessTypes: sortedSet(m.accessTypes),
    maskInfo: normInfo(m.maskInfo),
    filterInfo: normInfo(m.filterInfo),
    isConditional: m.isConditional === true,
  }));
}

export function normalizeAcls(acls: Partial<ResourceACLs> | Json): Json {
  const a = acls as Json;
  return {
    userPermissions: normPermissions(a.userACLs ?? a.userPermissions),
    groupPermissions: normPermissions(a.groupACLs ?? a.groupPermissions),
    rolePermissions: normPermissions(a.roleACLs ?? a.rolePermissions),
    dataMasks: normMasks(a.dataMasks),
    rowFilters: normMasks(a.rowFilters),
  };
}

/**
 * Ranger's `TestRangerAuthContext` (`plugin/test_auth_context.json`) only asserts that the plugin
 * registered exactly two request context enrichers, `ProjectProvider` (an enricher) and
 * `TagEnricher` (whose entry is its loaded tag data); the file's `tests` (an older, string-valued
 * ACL format) are never evaluated by Ranger, so they are not asserted here either.
 */
function isAuthContextFormat(tc: Json): boolean {
  for (const t of (tc.tests as Json[]) ?? [])
    for (const key of ["userPermissions", "groupPermissions"])
      for (const accesses of Object.values((t[key] as Json) ?? {}))
        for (const v of Object.values((accesses as Json) ?? {})) if (typeof v === "string") return true;
  return false;
}

function runAuthContextCase(tc: Json, root: string, report: FileReport): void {
  const sp = tc.servicePolicies as ServicePolicies;
  const got: Record<string, string> = {};
  for (const sd of [sp.serviceDef, sp.tagPolicies?.serviceDef]) {
    if (!sd) continue;
    for (const e of sd.contextEnrichers ?? []) {
      const isTag = (e.enricher ?? "").endsWith("RangerTagEnricher");
      got[e.name ?? ""] = isTag ? (enricherData(sd, root).tags ? "tag data" : "no tag data") : "enricher";
    }
  }
  check(report, `${tc.name} / context enrichers`, { ProjectProvider: "enricher", TagEnricher: "tag data" }, got);
}

export function runAclFile(file: Json, root: string, report: FileReport): void {
  for (const tc of (file.testCases as Json[]) ?? []) {
    if (isAuthContextFormat(tc)) {
      runAuthContextCase(tc, root, report);
      continue;
    }
    const engine = buildEngineFromServicePolicies(tc.servicePolicies as ServicePolicies, root);
    for (const t of (tc.tests as Json[]) ?? []) {
      const resource = (t.resource as Json) ?? {};
      const scope = t.resourceMatchingScope as string | undefined;
      const req: RangerAccessRequest = {
        resource: {
          elements: (resource.elements as Record<string, string>) ?? {},
          ownerUser: resource.ownerUser as string | undefined,
        },
        accessType: "_any",
        resourceMatchingScope: scope === "SELF_OR_DESCENDANTS" ? scope : undefined,
      };
      const got = engine.getResourceACLs(req);
      check(report, `${tc.name} / ${t.name}`, normalizeAcls(t), normalizeAcls(got));
    }
  }
}
