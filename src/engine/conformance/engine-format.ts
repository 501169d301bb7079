import { existsSync } from "node:fs";
import { type EngineOptions, PolicyEngine } from "../engine.ts";
import { toHBaseResource } from "../model/hbase-resource.ts";
import type {
  EngineInput,
  RangerAccessRequest,
  RangerPolicy,
  RangerRole,
  RangerServiceDef,
  SecurityZoneInfo,
  ServiceTags,
} from "../types.ts";
import { parseGsonDate, readJsonFile, readText, resolveRef } from "./load.ts";
import { check, type FileReport } from "./report.ts";

/**
 * Runs Ranger's engine-format test files (`TestPolicyEngine`, `TestPolicyEngineForDeltas`):
 * builds an engine as the Java harness does (trusted proxies, forwarded-for, file-based tag and
 * geo enrichers resolved under `--root`), then asserts exactly the fields the harness asserts.
 */
type Json = Record<string, unknown>;

const TRUSTED_PROXIES = ["255.255.255.255", "128.101.101.101", "128.101.101.99"];

/** Turns `userRoles`/`groupRoles`/`roleRoles` (member → role names) into Ranger roles. */
export function rolesFromMaps(file: Json): RangerRole[] {
  const roles = new Map<string, RangerRole>();
  const get = (n: string) => {
    let r = roles.get(n);
    if (!r) {
      r = { name: n, users: [], groups: [], roles: [] };
      roles.set(n, r);
    }
    return r;
  };
  for (const [u, rs] of Object.entries((file.userRoles as Record<string, string[]>) ?? {}))
    for (const r of rs) get(r).users!.push({ name: u });
  for (const [g, rs] of Object.entries((file.groupRoles as Record<string, string[]>) ?? {}))
    for (const r of rs) get(r).groups!.push({ name: g });
  for (const [x, rs] of Object.entries((file.roleRoles as Record<string, string[]>) ?? {}))
    for (const r of rs) get(r).roles!.push({ name: x });
  return [...roles.values()];
}

/** Collects file-based enricher data (tags, geo) that the service-def points at. */
export function enricherData(
  serviceDef: RangerServiceDef,
  root: string,
): { tags?: ServiceTags; geo: Record<string, string> } {
  const geo: Record<string, string> = {};
  let tags: ServiceTags | undefined;
  for (const e of serviceDef.contextEnrichers ?? []) {
    const opts = e.enricherOptions ?? {};
    if ((e.enricher ?? "").endsWith("GeolocationProvider") && opts.FilePath) {
      const p = resolveRef(root, opts.FilePath);
      if (existsSync(p)) geo[opts.FilePath] = readText(p);
    }
    if ((e.enricher ?? "").endsWith("TagEnricher") && opts.serviceTagsFileName) {
      const p = resolveRef(root, opts.serviceTagsFileName);
      if (existsSync(p)) tags = readJsonFile(p) as ServiceTags;
    }
  }
  return { tags, geo };
}

/** What an engine-format test file builds its engine from: the input and the options Ranger's harness uses. */
export function engineInputFromTestFile(
  file: Json,
  root: string,
  timeZone: string,
): { input: EngineInput; options: EngineOptions } {
  const serviceDef = file.serviceDef as RangerServiceDef;
  const tagInfo = file.tagPolicyInfo as Json | undefined;
  const base = enricherData(serviceDef, root);
  const geo = base.geo;
  let tags = base.tags;
  if (tagInfo?.serviceDef) {
    // Ranger's tag enricher is usually declared on the tag service-def (the tag repository's enrichers)
    const extra = enricherData(tagInfo.serviceDef as RangerServiceDef, root);
    Object.assign(geo, extra.geo);
    tags ??= extra.tags;
  }
  const serviceConfig = (file.serviceConfig as Record<string, string>) ?? {};
  const input: EngineInput = {
    serviceName: file.serviceName as string,
    serviceDef,
    policies: (file.policies as RangerPolicy[]) ?? [],
    roles: rolesFromMaps(file),
    securityZones: (file.securityZones as Record<string, SecurityZoneInfo>) ?? undefined,
    tagPolicies: tagInfo
      ? {
          serviceName: tagInfo.serviceName as string,
          serviceDef: tagInfo.serviceDef as RangerServiceDef,
          policies: (tagInfo.tagPolicies as RangerPolicy[]) ?? [],
          serviceConfig: (tagInfo.serviceConfig as Record<string, string>) ?? undefined,
        }
      : undefined,
    serviceTags: tags,
    serviceConfig: {
      raw: serviceConfig,
      auditMode: (file.auditMode as string) ?? undefined,
      superUsers: (file.superUsers as string[]) ?? [],
      superGroups: (file.superGroups as string[]) ?? [],
      auditExcludedUsers: (file.auditExcludedUsers as string[]) ?? [],
      auditExcludedGroups: (file.auditExcludedGroups as string[]) ?? [],
      auditExcludedRoles: (file.auditExcludedRoles as string[]) ?? [],
    },
    policyVersion: 100,
    geo,
  };
  return {
    input,
    options: { useForwardedIPAddress: true, trustedProxyAddresses: TRUSTED_PROXIES, defaultTimeZone: timeZone },
  };
}

export function buildEngineFromTestFile(file: Json, root: string, timeZone: string): PolicyEngine {
  const { input, options } = engineInputFromTestFile(file, root, timeZone);
  return new PolicyEngine(input, options);
}

/** The time zone Ranger's harness runs a file in: its `temporary` (validity schedule) files run in Los Angeles. */
export function testFileTimeZone(path: string): string {
  return /temporary/.test(path) ? "America/Los_Angeles" : "UTC";
}

/**
 * Which Ranger JUnit harness a file belongs to. agents-common's `TestPolicyEngine` asserts
 * isAllowed and isAudited of access results; hbase-agent's (`org.apache.ranger.authorization.hbase
 * .TestPolicyEngine`, files under an `hbase-agent/` folder) also asserts policyId, and deserializes
 * resources as `RangerHBaseResource`, whose `table` carries every name of a default-namespace table
 * (model/hbase-resource.ts).
 */
export interface Harness {
  readonly hbaseResource: boolean;
  readonly assertAccessPolicyId: boolean;
}

export const AGENTS_COMMON_HARNESS: Harness = { hbaseResource: false, assertAccessPolicyId: false };
const HBASE_AGENT_HARNESS: Harness = { hbaseResource: true, assertAccessPolicyId: true };

/**
 * The harness of a test file, from its place in the corpus (Ranger's module layout). Gatehouse's
 * own files may ask for policyId to be asserted with `"harness": {"assertAccessPolicyId": true}`
 * (a field Ranger's Gson-based harness ignores).
 */
export function harnessFor(path: string, file?: Json): Harness {
  if (/(^|[\\/])hbase-agent[\\/]/.test(path)) return HBASE_AGENT_HARNESS;
  const own = file?.harness as Json | undefined;
  if (own?.assertAccessPolicyId === true) return { hbaseResource: false, assertAccessPolicyId: true };
  return AGENTS_COMMON_HARNESS;
}

/**
 * Gson's `Boolean` adapter: JSON booleans, and strings read with `Boolean.parseBoolean` (`"false"`
 * is false, as upstream test_policyengine_hbase_ignoreDenyDescendant.json writes it).
 */
export function gsonBoolean(v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "boolean") return v;
  if (typeof v === "string") return v.toLowerCase() === "true";
  return undefined;
}

/** Converts a test's request JSON (Gson shapes) into an engine request. */
export function toRequest(test: Json, harness: Harness = AGENTS_COMMON_HARNESS): RangerAccessRequest {
  const r = (test.request as Json) ?? {};
  const resource = (r.resource as Json) ?? {};
  const context: Record<string, unknown> = { ...((r.context as Json) ?? {}) };
  const user = r.user as string | undefined;
  if (user !== undefined) context["token:USER"] = user;
  const scope = r.resourceMatchingScope as string | undefined;
  const req: RangerAccessRequest = {
    resource: {
      elements: (resource.elements as Record<string, string | string[]>) ?? {},
      ownerUser: resource.ownerUser as string | undefined,
    },
    accessType: (r.accessType as string) ?? "",
    user,
    userGroups: (r.userGroups as string[]) ?? [],
    userRoles: (r.userRoles as string[]) ?? undefined,
    accessTime: parseGsonDate(r.accessTime as string | undefined),
    clientIPAddress: r.clientIPAddress as string | undefined,
    remoteIPAddress: r.remoteIPAddress as string | undefined,
    forwardedAddresses: r.forwardedAddresses as string[] | undefined,
    action: r.action as string | undefined,
    requestData: r.requestData as string | undefined,
    clusterName: r.clusterName as string | undefined,
    clusterType: r.clusterType as string | undefined,
    clientType: r.clientType as string | undefined,
    context,
    resourceMatchingScope: scope === "SELF" || scope === "SELF_OR_DESCENDANTS" ? scope : undefined,
    resourceElementMatchingScopes:
      r.resourceElementMatchingScopes as RangerAccessRequest["resourceElementMatchingScopes"],
    isDescendantDenyIgnored: gsonBoolean(r.isDescendantDenyIgnored),
    inlinePolicy: (r.inlinePolicy as RangerAccessRequest["inlinePolicy"]) ?? undefined,
  };
  const ua = test.userAttributes as Record<string, Record<string, string>> | undefined;
  const ga = test.groupAttributes as Record<string, Record<string, string>> | undefined;
  if (ua || ga) req.userStore = { userAttributes: ua, groupAttributes: ga };
  if (harness.hbaseResource) req.resource = toHBaseResource(req.resource);
  return req;
}

export function runTests(
  engine: PolicyEngine,
  tests: Json[],
  report: FileReport,
  harness: Harness = AGENTS_COMMON_HARNESS,
): void {
  for (const t of tests) {
    const name = String(t.name ?? "");
    const req = toRequest(t, harness);
    if (t.result) {
      const exp = t.result as Json;
      const res = engine.isAccessAllowed(req);
      if (harness.assertAccessPolicyId)
        check(
          report,
          name,
          { isAllowed: exp.isAllowed === true, isAudited: exp.isAudited === true, policyId: exp.policyId ?? -1 },
          { isAllowed: res.isAllowed, isAudited: res.isAudited, policyId: res.policyId },
        );
      else
        check(
          report,
          name,
          { isAllowed: exp.isAllowed === true, isAudited: exp.isAudited === true },
          { isAllowed: res.isAllowed, isAudited: res.isAudited },
        );
    }
    if (t.dataMaskResult) {
      const exp = t.dataMaskResult as Json;
      const info = (exp.additionalInfo as Json) ?? {};
      const res = engine.evaluateDataMask(req);
      check(
        report,
        `${name} (dataMask)`,
        {
          maskType: info.maskType ?? null,
          maskCondition: info.maskCondition ?? null,
          maskedValue: info.maskedValue ?? null,
          policyId: exp.policyId ?? -1,
        },
        {
          maskType: res.maskType ?? null,
          maskCondition: res.maskCondition ?? null,
          maskedValue: res.maskedValue ?? null,
          policyId: res.policyId,
        },
      );
    }
    if (t.rowFilterResult) {
      const exp = t.rowFilterResult as Json;
      const info = (exp.additionalInfo as Json) ?? {};
      const res = engine.evaluateRowFilter(req);
      check(
        report,
        `${name} (rowFilter)`,
        { filterExpr: info.filterExpr ?? null, policyId: exp.policyId ?? -1 },
        { filterExpr: res.filterExpr ?? null, policyId: res.policyId },
      );
    }
    if (t.resourceAccessInfo) {
      const exp = t.resourceAccessInfo as Json;
      const got = engine.getResourceAccessInfo(req);
      const sorted = (v: unknown) => [...new Set((v as string[]) ?? [])].sort();
      check(
        report,
        `${name} (resourceAccessInfo)`,
        {
          allowedUsers: sorted(exp.allowedUsers),
          allowedGroups: sorted(exp.allowedGroups),
          deniedUsers: sorted(exp.deniedUsers),
          deniedGroups: sorted(exp.deniedGroups),
        },
        {
          allowedUsers: sorted(got.allowedUsers),
          allowedGroups: sorted(got.allowedGroups),
          deniedUsers: sorted(got.deniedUsers),
          deniedGroups: sorted(got.deniedGroups),
        },
      );
    }
  }
}

function applyUpdates(engine: PolicyEngine, updated: Json | undefined): void {
  if (!updated) return;
  engine.applyDeltas(
    (updated.policyDeltas as never[]) ?? [],
    (updated.securityZones as Record<string, SecurityZoneInfo>) ?? undefined,
  );
}

/** Runs an engine-format file's tests and updates, on `engine` when given (else one built from the file). */
export function runEngineFile(
  file: Json,
  root: string,
  report: FileReport,
  path: string,
  engine = buildEngineFromTestFile(file, root, testFileTimeZone(path)),
): void {
  const harness = harnessFor(path, file);
  if (file.testsInfo) {
    let info = file.testsInfo as Json | undefined;
    while (info) {
      runTests(engine, (info.tests as Json[]) ?? [], report, harness);
      applyUpdates(engine, info.updatedPolicies as Json | undefined);
      info = info.updatedTestsInfo as Json | undefined;
    }
    return;
  }
  runTests(engine, (file.tests as Json[]) ?? [], report, harness);
  if (file.updatedPolicies || file.updatedTests) {
    applyUpdates(engine, file.updatedPolicies as Json | undefined);
    runTests(engine, (file.updatedTests as Json[]) ?? [], report, harness);
  }
}
