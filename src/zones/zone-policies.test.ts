import { describe, expect, it } from "vitest";
import type { RangerPolicy, RangerPolicyDelta } from "../engine/index.ts";
import { splitDeltasByZone, splitPoliciesByZone } from "./zone-policies.ts";

const policy = (id: number, zoneName = ""): RangerPolicy => ({ id, name: `p${id}`, zoneName });
const zones = {
  finance: { zoneName: "finance", resources: [{ catalog: ["sales"] }], containsAssociatedTagService: false },
  hr: { zoneName: "hr", resources: [{ catalog: ["people"] }], containsAssociatedTagService: true },
};

describe("the zone split of policy sets (Ranger's getUpdatedServicePoliciesForZones)", () => {
  it("moves zone policies under their zone, keeps every zone, and drops policies of zones the service is not in", () => {
    const split = splitPoliciesByZone(
      [policy(1), policy(2, "finance"), policy(3, "gone"), policy(4, "finance")],
      zones,
    );
    expect(split.policies.map((p) => p.id)).toEqual([1]);
    expect(split.securityZones).toEqual({
      finance: { ...zones.finance, policies: [policy(2, "finance"), policy(4, "finance")] },
      hr: { ...zones.hr, policies: [] },
    });
  });

  it("moves zone deltas under their zone", () => {
    const delta = (id: number, zoneName = ""): RangerPolicyDelta => ({
      id,
      changeType: 1,
      policy: policy(id, zoneName),
    });
    const split = splitDeltasByZone([delta(1), delta(2, "hr")], zones);
    expect(split.policyDeltas.map((d) => d.id)).toEqual([1]);
    expect(split.securityZones.hr?.policyDeltas?.map((d) => d.id)).toEqual([2]);
    expect(split.securityZones.finance?.policyDeltas).toEqual([]);
  });
});
