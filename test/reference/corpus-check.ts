/**
 * Sanity check of the reference evaluator itself: runs it over the in-scope cases of Ranger's own
 * engine test files (no tags, conditions, zones, expressions or audit filters) and prints mismatches.
 *   node test/reference/corpus-check.ts [--root ../shared/conformance/ranger/policyengine] [FILE...]
 * A dev tool: the property test trusts the reference only as far as this agrees with Ranger.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EngineInput, RangerAccessRequest, RangerPolicy } from "../../src/engine/types.ts";
import { referenceEvaluate } from "./reference-evaluator.ts";

const DEFAULT_FILES = [
  "test_policyengine_priority.json",
  "test_policyengine_hive.json",
  "test_policyengine_hive_with_partial_resource_policies.json",
  "test_policyengine_hdfs.json",
  "test_policyengine_hdfs_resourcespec.json",
  "test_policyengine_hive_mask_filter.json",
  "test_policyengine_owner.json",
  "test_policyengine_policy_with_additional_resources.json",
  "test_policyengine_super_user_access.json",
  "test_policyengine_hbase.json",
  "test_policyengine_kafka.json",
  "test_policyengine_atlas.json",
  "test_policyengine_with_roles.json",
];

interface TestCase {
  name: string;
  request: RangerAccessRequest & { context?: Record<string, unknown> };
  result?: { isAllowed?: boolean; isAudited?: boolean; policyId?: number };
  dataMaskResult?: { additionalInfo?: Record<string, unknown>; policyId?: number };
  rowFilterResult?: { additionalInfo?: Record<string, unknown>; policyId?: number };
}

const args = process.argv.slice(2);
const rootIdx = args.indexOf("--root");
const root =
  rootIdx >= 0 ? args[rootIdx + 1] : join(import.meta.dirname, "../../../shared/conformance/ranger/policyengine");
const files = args.filter((a, i) => a !== "--root" && i !== rootIdx + 1);

let pass = 0;
let fail = 0;
let skip = 0;
for (const file of files.length > 0 ? files : DEFAULT_FILES) {
  const data = JSON.parse(readFileSync(join(root, file), "utf8"));
  const policies = data.policies as RangerPolicy[];
  if (policies.some((p) => (p.conditions ?? []).length > 0 || (p.validitySchedules ?? []).length > 0)) {
    console.log(`${file}: has conditions/schedules; items with conditions may differ`);
  }
  // roles in the test format: userRoles / groupRoles maps (name → roles)
  const roleMembers = new Map<string, { users: string[]; groups: string[] }>();
  for (const [user, roles] of Object.entries((data.userRoles ?? {}) as Record<string, string[]>)) {
    for (const r of roles) {
      if (!roleMembers.has(r)) roleMembers.set(r, { users: [], groups: [] });
      roleMembers.get(r)!.users.push(user);
    }
  }
  for (const [group, roles] of Object.entries((data.groupRoles ?? {}) as Record<string, string[]>)) {
    for (const r of roles) {
      if (!roleMembers.has(r)) roleMembers.set(r, { users: [], groups: [] });
      roleMembers.get(r)!.groups.push(group);
    }
  }
  const input: EngineInput = {
    serviceDef: data.serviceDef,
    policies,
    roles: [...roleMembers].map(([name, m]) => ({
      name,
      users: m.users.map((n) => ({ name: n })),
      groups: m.groups.map((n) => ({ name: n })),
    })),
    serviceConfig: { superUsers: data.superUsers ?? [], superGroups: data.superGroups ?? [] },
  };
  for (const t of data.tests as TestCase[]) {
    const req = t.request;
    if (req.context && Object.keys(req.context).length > 0) {
      skip++;
      continue;
    }
    const checks: [number, Record<string, unknown>][] = [];
    if (t.result) checks.push([0, t.result]);
    if (t.dataMaskResult) checks.push([1, t.dataMaskResult]);
    if (t.rowFilterResult) checks.push([2, t.rowFilterResult]);
    for (const [type, exp] of checks) {
      const got = referenceEvaluate(input, req, type) as unknown as Record<string, unknown>;
      const diffs: string[] = [];
      for (const k of ["isAllowed", "isAudited", "policyId"]) {
        if (k in exp && exp[k] !== got[k]) diffs.push(`${k}: expected ${exp[k]} got ${got[k]}`);
      }
      const info = (exp.additionalInfo ?? {}) as Record<string, unknown>;
      for (const k of ["maskType", "filterExpr", "maskedValue", "maskCondition"]) {
        if (k in info && (info[k] ?? undefined) !== (got[k] ?? undefined))
          diffs.push(`${k}: expected ${info[k]} got ${got[k]}`);
      }
      if (diffs.length > 0) {
        fail++;
        console.log(`FAIL ${file} [${type}] ${t.name}: ${diffs.join("; ")}`);
      } else pass++;
    }
  }
}
console.log(`${pass} passed, ${fail} failed, ${skip} skipped`);
