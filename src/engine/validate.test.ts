/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: Ranger `${{…}}` expressions are policy text, not templates */
import { describe, expect, it } from "vitest";
import type { RangerPolicy, RangerServiceDef } from "./index.ts";
import { validatePolicy } from "./index.ts";

const hive: RangerServiceDef = {
  name: "hive",
  resources: [
    { name: "database", level: 1, mandatory: true, excludesSupported: true, recursiveSupported: false },
    { name: "table", level: 2, parent: "database", mandatory: true, isValidLeaf: true },
    { name: "udf", level: 2, parent: "database", mandatory: true },
    { name: "column", level: 3, parent: "table", mandatory: true },
  ],
  accessTypes: [{ name: "select" }, { name: "update" }, { name: "all", impliedGrants: ["select", "update"] }],
  policyConditions: [{ name: "expression", evaluator: "RangerScriptConditionEvaluator" }],
  dataMaskDef: {
    maskTypes: [{ name: "MASK" }, { name: "MASK_NONE" }],
    accessTypes: [{ name: "select" }],
    resources: [{ name: "database" }, { name: "table" }, { name: "column" }],
  },
  rowFilterDef: { accessTypes: [{ name: "select" }], resources: [{ name: "database" }, { name: "table" }] },
};

const base = (p: Partial<RangerPolicy>): RangerPolicy => ({
  id: 1,
  name: "p",
  resources: { database: { values: ["db"] }, table: { values: ["t"] } },
  policyItems: [{ accesses: [{ type: "select" }], users: ["alice"] }],
  ...p,
});

const fields = (p: Partial<RangerPolicy>) => validatePolicy(hive, base(p)).errors.map((e) => e.field);

describe("validatePolicy", () => {
  it("accepts a well-formed access policy, a mask and a row filter", () => {
    expect(validatePolicy(hive, base({})).errors).toEqual([]);
    expect(
      validatePolicy(hive, {
        policyType: 1,
        resources: { database: { values: ["db"] }, table: { values: ["t"] }, column: { values: ["c"] } },
        dataMaskPolicyItems: [
          { accesses: [{ type: "select" }], groups: ["g"], dataMaskInfo: { dataMaskType: "MASK" } },
        ],
      }).errors,
    ).toEqual([]);
    expect(
      validatePolicy(hive, {
        policyType: 2,
        resources: { database: { values: ["db"] }, table: { values: ["t"] } },
        rowFilterPolicyItems: [
          {
            accesses: [{ type: "select" }],
            users: ["{USER}"],
            rowFilterInfo: { filterExpr: "dept = '${{USER.dept}}'" },
          },
        ],
      }).errors,
    ).toEqual([]);
  });

  it("checks resource keys, gaps, mandatory levels, excludes and recursion", () => {
    expect(fields({ resources: { db: { values: ["x"] } } })).toEqual(["resources.db"]);
    expect(fields({ resources: { database: { values: ["d"] }, column: { values: ["c"] } } })).toEqual(["resources"]);
    expect(
      validatePolicy(hive, base({ resources: { database: { values: ["d"] }, column: { values: ["c"] } } })).errors[0]
        .message,
    ).toMatch(/'table' is missing above 'column'/);
    // database alone: table/udf below are mandatory and database is not a valid leaf
    expect(fields({ resources: { database: { values: ["d"] } } })).toEqual(["resources"]);
    expect(fields({ resources: { database: { values: ["d"], isRecursive: true }, table: { values: ["t"] } } })).toEqual(
      ["resources.database.isRecursive"],
    );
    expect(fields({ resources: { database: { values: [] }, table: { values: ["t"] } } })).toEqual([
      "resources.database.values",
    ]);
    expect(fields({ resources: {} })).toEqual(["resources"]);
  });

  it("checks access types, principals and item lists against the policy type", () => {
    expect(fields({ policyItems: [{ accesses: [{ type: "drop" }], users: ["a"] }] })).toEqual([
      "policyItems[0].accesses[0].type",
    ]);
    expect(fields({ policyItems: [{ accesses: [{ type: "select" }] }] })).toEqual(["policyItems[0]"]);
    expect(
      fields({
        dataMaskPolicyItems: [{ accesses: [{ type: "select" }], users: ["a"], dataMaskInfo: { dataMaskType: "MASK" } }],
      }),
    ).toEqual(["dataMaskPolicyItems"]);
    expect(
      validatePolicy(hive, {
        policyType: 1,
        resources: { database: { values: ["db"] }, table: { values: ["t"] }, column: { values: ["c"] } },
        policyItems: [{ accesses: [{ type: "select" }], users: ["a"] }],
        dataMaskPolicyItems: [
          { accesses: [{ type: "update" }], users: ["a"], dataMaskInfo: { dataMaskType: "SHUFFLE" } },
        ],
      }).errors.map((e) => e.field),
    ).toEqual([
      "policyItems",
      "dataMaskPolicyItems[0].accesses[0].type",
      "dataMaskPolicyItems[0].dataMaskInfo.dataMaskType",
    ]);
  });

  it("rejects expressions outside the safe subset, naming the construct", () => {
    const r = validatePolicy(
      hive,
      base({
        conditions: [{ type: "expression", values: ["this.constructor.constructor('return process')()"] }],
        resources: { database: { values: ["${{new Date()}}"] }, table: { values: ["t"] } },
      }),
    );
    expect(r.errors.map((e) => e.field)).toEqual(["resources.database.values[0]", "conditions[0].values"]);
    for (const e of r.errors) expect(e.message.length).toBeGreaterThan(0);
    expect(fields({ conditions: [{ type: "no-such-condition", values: ["x"] }] })).toEqual(["conditions[0].type"]);
  });

  it("reports invalid validity schedules", () => {
    expect(fields({ validitySchedules: [{ startTime: "not a date" }] }).length).toBeGreaterThan(0);
  });
});
