import { describe, expect, it } from "vitest";
import type { LiveEngine } from "../../decisions/live-engines.ts";
import { createEngine, type RangerPolicy, type RangerServiceDef } from "../../engine/index.ts";
import { BUILTIN_SERVICE_DEFS } from "../../service-defs/builtin.ts";
import { policyKinds } from "./policy-kinds.ts";

// The PDP evaluates a permission's data mask only when `policyKinds` says a masking policy exists.
// Gatehouse's built-in tag def has no `dataMaskDef`, so its APIs cannot create a tag masking policy;
// Ranger's tag def gets one from the components (`hive:MASK_SHOW_LAST_4`). These engines are built
// as Ranger's would be, so the skip is shown never to hide a tag-based mask the engine would give.

const def = (name: string) => BUILTIN_SERVICE_DEFS.find((d) => d.name === name) as RangerServiceDef;
const HIVE = def("hive");
/** Ranger's tag def as its admin serves it once hive is known: hive's mask types, prefixed. */
const TAG: RangerServiceDef = {
  ...def("tag"),
  dataMaskDef: {
    accessTypes: [{ name: "hive:select" }],
    resources: [{ name: "tag", matcherOptions: { wildCard: "false" } }],
    maskTypes: [{ itemId: 2, name: "hive:MASK_SHOW_LAST_4", transformer: "mask_show_last_n({col}, 4)" }],
  },
} as RangerServiceDef;

const ACCESS: RangerPolicy = {
  id: 1,
  name: "select",
  resources: { database: { values: ["default"] }, table: { values: ["t1"] }, column: { values: ["*"] } },
  policyItems: [{ users: ["alice"], accesses: [{ type: "select", isAllowed: true }] }],
};
const TAG_DENY: RangerPolicy = {
  id: 100,
  name: "deny-secret",
  resources: { tag: { values: ["SECRET"] } },
  denyPolicyItems: [{ users: ["bob"], accesses: [{ type: "hive:select", isAllowed: true }] }],
};
const TAG_MASK: RangerPolicy = {
  id: 101,
  name: "mask-pii",
  policyType: 1,
  resources: { tag: { values: ["PII"] } },
  dataMaskPolicyItems: [
    {
      users: ["alice"],
      accesses: [{ type: "hive:select", isAllowed: true }],
      dataMaskInfo: { dataMaskType: "hive:MASK_SHOW_LAST_4" },
    },
  ],
};

/** A live engine of hive policies `own`, linked (when `tagPolicies` is given) to a tag service. */
function liveEngine(own: RangerPolicy[], tagPolicies?: RangerPolicy[]): LiveEngine {
  const engine = createEngine({
    serviceName: "hive1",
    serviceDef: HIVE,
    policies: own,
    ...(tagPolicies ? { tagPolicies: { serviceName: "tags1", serviceDef: TAG, policies: tagPolicies } } : {}),
    serviceTags: {
      serviceName: "hive1",
      tagDefinitions: {},
      tags: { "1": { id: 1, type: "PII" } },
      serviceResources: [
        {
          id: 1,
          resourceElements: {
            database: { values: ["default"] },
            table: { values: ["t1"] },
            column: { values: ["ssn"] },
          },
        },
      ],
      resourceToTagIds: { "1": [1] },
    },
  });
  return { engine, version: 1, policies: new Map(own.map((p) => [p.id as number, p])) } as unknown as LiveEngine;
}

const maskOf = (live: LiveEngine) =>
  live.engine.evaluateDataMask({
    resource: { elements: { database: "default", table: "t1", column: "ssn" } },
    accessType: "select",
    user: "alice",
    userGroups: [],
    userRoles: [],
  });

describe("policyKinds: when the PDP evaluates masks and row filters", () => {
  it("skips both for a service linked to a tag service that has no masking policy", () => {
    const live = liveEngine([ACCESS], [TAG_DENY]);
    expect(policyKinds(live)).toEqual(expect.objectContaining({ mask: false, rowFilter: false }));
    expect(maskOf(live).maskType ?? null).toBeNull();
  });

  it("evaluates masks once the tag service has a masking policy, and the engine then masks by tag", () => {
    const live = liveEngine([ACCESS], [TAG_DENY, TAG_MASK]);
    expect(policyKinds(live).mask).toBe(true);
    expect(maskOf(live)).toMatchObject({ maskType: "hive:MASK_SHOW_LAST_4", policyId: 101 });
    // a tag masking policy arriving by delta counts at once (the engine's tag repository is asked)
    const later = liveEngine([ACCESS], [TAG_DENY]);
    expect(policyKinds(later).mask).toBe(false);
    later.engine.applyDeltas([{ changeType: 0, policy: { ...TAG_MASK, serviceType: "tag" } }]);
    expect(policyKinds(later).mask).toBe(true);
    expect(maskOf(later)).toMatchObject({ maskType: "hive:MASK_SHOW_LAST_4", policyId: 101 });
  });

  it("follows the service's own policies by policy version, without a tag service", () => {
    const live = liveEngine([ACCESS]);
    expect(policyKinds(live)).toEqual(expect.objectContaining({ mask: false, rowFilter: false }));
    live.policies.set(7, { id: 7, policyType: 2 } as RangerPolicy);
    live.version = 2;
    expect(policyKinds(live)).toEqual(expect.objectContaining({ mask: false, rowFilter: true }));
  });
});
