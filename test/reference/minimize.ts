/**
 * Shrinks a disagreement to a minimal world (greedy one-at-a-time removal of policies, items and
 * resource values while the engine and the reference still disagree on the same case), and renders
 * it as a Ranger-format engine test file (the format of test_policyengine_*.json) whose expected
 * result is the reference's answer.
 */
import type { RangerPolicy } from "../../src/engine/types.ts";
import { compareWorld, type Disagreement } from "./compare.ts";
import type { World } from "./generators.ts";

function disagrees(world: World, d: Disagreement): Disagreement | undefined {
  return compareWorld({ input: world.input, cases: [d.case] })[0];
}

export function minimize(d: Disagreement): Disagreement {
  let world: World = { input: structuredClone(d.world.input), cases: [d.case] };
  let current = disagrees(world, d) ?? d;
  const tryWorld = (w: World) => {
    const hit = disagrees(w, d);
    if (hit) {
      world = w;
      current = hit;
      return true;
    }
    return false;
  };
  // drop whole policies
  for (let i = world.input.policies.length - 1; i >= 0; i--) {
    const policies = world.input.policies.filter((_, j) => j !== i);
    if (policies.length > 0) tryWorld({ ...world, input: { ...world.input, policies } });
  }
  // drop items of each list, and roles / super users
  const lists = [
    "policyItems",
    "denyPolicyItems",
    "allowExceptions",
    "denyExceptions",
    "dataMaskPolicyItems",
    "rowFilterPolicyItems",
  ] as const;
  for (let i = 0; i < world.input.policies.length; i++) {
    for (const list of lists) {
      const items = (world.input.policies[i][list] ?? []) as unknown[];
      for (let k = items.length - 1; k >= 0; k--) {
        const policies = structuredClone(world.input.policies) as RangerPolicy[];
        (policies[i][list] as unknown[]).splice(k, 1);
        tryWorld({ ...world, input: { ...world.input, policies } });
      }
    }
    if (world.input.policies[i].additionalResources) {
      const policies = structuredClone(world.input.policies);
      delete policies[i].additionalResources;
      tryWorld({ ...world, input: { ...world.input, policies } });
    }
  }
  if ((world.input.roles ?? []).length > 0) tryWorld({ ...world, input: { ...world.input, roles: [] } });
  tryWorld({ ...world, input: { ...world.input, serviceConfig: {} } });
  return current;
}

/** A Ranger-format engine test file for one (minimized) disagreement; expected = the reference. */
export function toRangerTestFile(d: Disagreement, name: string): Record<string, unknown> {
  const ref = d.reference;
  const t = d.case.policyType;
  const test: Record<string, unknown> = { name, request: d.case.request };
  if (t === 0) test.result = { isAudited: ref.isAudited, isAllowed: ref.isAllowed, policyId: ref.policyId };
  else if (t === 1)
    test.dataMaskResult = {
      additionalInfo: {
        maskType: ref.maskType ?? null,
        maskCondition: ref.maskCondition ?? null,
        maskedValue: ref.maskedValue ?? null,
      },
      policyId: ref.policyId,
    };
  else test.rowFilterResult = { additionalInfo: { filterExpr: ref.filterExpr ?? null }, policyId: ref.policyId };
  const cfg = d.world.input.serviceConfig ?? {};
  // roles in the engine-test format: userRoles/groupRoles maps are not expressive enough for nested
  // roles, so roles are passed on the request (userRoles) by the caller when they matter
  return {
    serviceName: d.world.input.serviceName ?? "fuzzdev",
    serviceDef: d.world.input.serviceDef,
    ...((cfg.superUsers ?? []).length > 0 ? { superUsers: cfg.superUsers } : {}),
    ...((cfg.superGroups ?? []).length > 0 ? { superGroups: cfg.superGroups } : {}),
    policies: d.world.input.policies,
    tests: [test],
  };
}
