/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: Ranger `${{…}}` expressions are policy text, not templates */
import { describe, expect, it } from "vitest";
import { createEngine, type RangerAccessRequest, type RangerPolicy, type RangerServiceDef } from "../index.ts";

/**
 * Evaluator semantics (ranger-semantics.md §2) on a small hive-like service: precedence of deny,
 * allow and exceptions, override priority, deny-all-else, `_any`, implied grants, super users,
 * masks (first policy in evaluation order, first matching item) and row filters, explain, ACLs.
 */
const sd: RangerServiceDef = {
  name: "hive",
  resources: [
    { name: "database", level: 1, matcherOptions: { wildCard: "true", ignoreCase: "true" } },
    { name: "table", level: 2, parent: "database", matcherOptions: { wildCard: "true", ignoreCase: "true" } },
    { name: "column", level: 3, parent: "table", matcherOptions: { wildCard: "true", ignoreCase: "true" } },
  ],
  accessTypes: [
    { name: "select" },
    { name: "update" },
    { name: "drop" },
    { name: "all", impliedGrants: ["select", "update", "drop"] },
  ],
  policyConditions: [{ name: "expression", evaluator: "RangerScriptConditionEvaluator" }],
  dataMaskDef: {
    maskTypes: [{ name: "MASK" }, { name: "MASK_NULL" }, { name: "MASK_NONE" }],
    accessTypes: [{ name: "select" }],
    resources: [{ name: "database" }, { name: "table" }, { name: "column" }],
  },
  rowFilterDef: { accessTypes: [{ name: "select" }], resources: [{ name: "database" }, { name: "table" }] },
};

const table = (db: string, t: string) => ({ database: { values: [db] }, table: { values: [t] } });
const col = (db: string, t: string, c: string) => ({ ...table(db, t), column: { values: [c] } });
const req = (elements: Record<string, string>, accessType: string, user: string, groups: string[] = []) =>
  ({ resource: { elements }, accessType, user, userGroups: groups }) as RangerAccessRequest;
const engine = (policies: RangerPolicy[], extra: Record<string, unknown> = {}) =>
  createEngine({ serviceDef: sd, policies, ...extra });
const T = { database: "sales", table: "orders" };

describe("access evaluation", () => {
  it("deny beats allow in the same policy; deny exceptions lift the deny", () => {
    const e = engine([
      {
        id: 1,
        resources: table("sales", "*"),
        policyItems: [{ accesses: [{ type: "select" }], groups: ["analysts"] }],
        denyPolicyItems: [{ accesses: [{ type: "select" }], users: ["mallory", "bob"] }],
        denyExceptions: [{ accesses: [{ type: "select" }], users: ["bob"] }],
      },
    ]);
    expect(e.isAccessAllowed(req(T, "select", "alice", ["analysts"])).isAllowed).toBe(true);
    expect(e.isAccessAllowed(req(T, "select", "mallory", ["analysts"])).isAllowed).toBe(false);
    expect(e.isAccessAllowed(req(T, "select", "bob", ["analysts"])).isAllowed).toBe(true);
  });

  it("allow exceptions remove a grant; nothing matching is a denial with policyId -1", () => {
    const e = engine([
      {
        id: 1,
        resources: table("sales", "*"),
        policyItems: [{ accesses: [{ type: "select" }], groups: ["public"] }],
        allowExceptions: [{ accesses: [{ type: "select" }], users: ["intern"] }],
      },
    ]);
    expect(e.isAccessAllowed(req(T, "select", "alice")).isAllowed).toBe(true);
    expect(e.isAccessAllowed(req(T, "select", "intern")).isAllowed).toBe(false);
    const none = e.isAccessAllowed(req(T, "update", "alice"));
    expect([none.isAllowed, none.policyId]).toEqual([false, -1]);
  });

  it("a deny in one policy beats an allow in another of the same priority; an override allow beats it", () => {
    const allow: RangerPolicy = {
      id: 1,
      name: "allow",
      resources: table("sales", "orders"),
      policyItems: [{ accesses: [{ type: "select" }], users: ["alice"] }],
    };
    const deny: RangerPolicy = {
      id: 2,
      name: "deny",
      resources: table("sales", "*"),
      denyPolicyItems: [{ accesses: [{ type: "select" }], users: ["alice"] }],
    };
    const denied = engine([allow, deny]).isAccessAllowed(req(T, "select", "alice"));
    expect([denied.isAllowed, denied.policyId]).toEqual([false, 2]);
    const over = engine([{ ...allow, policyPriority: 1 }, deny]).isAccessAllowed(req(T, "select", "alice"));
    expect([over.isAllowed, over.policyId]).toEqual([true, 1]);
  });

  it("deny-all-else denies everything its items do not allow", () => {
    const e = engine([
      {
        id: 1,
        resources: table("sales", "orders"),
        isDenyAllElse: true,
        policyItems: [{ accesses: [{ type: "select" }], users: ["alice"] }],
      },
      { id: 2, resources: table("*", "*"), policyItems: [{ accesses: [{ type: "update" }], users: ["alice", "bob"] }] },
    ]);
    expect(e.isAccessAllowed(req(T, "select", "alice")).isAllowed).toBe(true);
    expect(e.isAccessAllowed(req(T, "update", "alice")).isAllowed).toBe(false);
    expect(e.isAccessAllowed(req({ database: "hr", table: "x" }, "update", "bob")).isAllowed).toBe(true);
  });

  it("implied grants: 'all' implies select/update/drop", () => {
    const e = engine([
      { id: 1, resources: table("sales", "*"), policyItems: [{ accesses: [{ type: "all" }], users: ["dba"] }] },
    ]);
    for (const a of ["select", "update", "drop"]) expect(e.isAccessAllowed(req(T, a, "dba")).isAllowed).toBe(true);
  });

  it("_any is allowed when some access is allowed, including on a descendant", () => {
    const e = engine([
      { id: 1, resources: table("sales", "orders"), policyItems: [{ accesses: [{ type: "drop" }], users: ["alice"] }] },
    ]);
    expect(e.isAccessAllowed(req(T, "", "alice")).isAllowed).toBe(true);
    expect(e.isAccessAllowed(req({ database: "sales" }, "", "alice")).isAllowed).toBe(true);
    expect(e.isAccessAllowed(req({ database: "sales" }, "select", "alice")).isAllowed).toBe(false);
    expect(e.isAccessAllowed(req(T, "", "bob")).isAllowed).toBe(false);
  });

  it("super users are allowed without policies; policy conditions gate a policy", () => {
    const e = engine(
      [
        {
          id: 1,
          resources: table("sales", "*"),
          conditions: [{ type: "expression", values: ["USER._name == 'alice'"] }],
          policyItems: [{ accesses: [{ type: "select" }], groups: ["public"] }],
        },
      ],
      { serviceConfig: { superUsers: ["root"] } },
    );
    const su = e.isAccessAllowed(req({ database: "x", table: "y" }, "drop", "root"));
    expect([su.isAllowed, su.reason]).toEqual([true, "superuser"]);
    expect(e.isAccessAllowed(req(T, "select", "alice")).isAllowed).toBe(true);
    expect(e.isAccessAllowed(req(T, "select", "bob")).isAllowed).toBe(false);
  });
});

describe("masks and row filters", () => {
  const masks: RangerPolicy[] = [
    {
      id: 10,
      name: "a-specific",
      policyType: 1,
      resources: col("sales", "orders", "ssn"),
      dataMaskPolicyItems: [
        { accesses: [{ type: "select" }], users: ["alice"], dataMaskInfo: { dataMaskType: "MASK_NONE" } },
        { accesses: [{ type: "select" }], groups: ["public"], dataMaskInfo: { dataMaskType: "MASK" } },
      ],
    },
    {
      id: 11,
      name: "b-wildcard",
      policyType: 1,
      resources: col("sales", "*", "*"),
      dataMaskPolicyItems: [
        { accesses: [{ type: "select" }], groups: ["public"], dataMaskInfo: { dataMaskType: "MASK_NULL" } },
      ],
    },
  ];
  const ssn = { ...T, column: "ssn" };

  it("the first matching policy in evaluation order decides (cheapest first unless prioritised)", () => {
    // Ranger's eval order puts the broad wildcard policy first (§3.2), so it decides for everyone
    const plain = engine(masks).evaluateDataMask(req(ssn, "select", "alice"));
    expect([plain.maskType, plain.policyId]).toEqual(["MASK_NULL", 11]);
  });

  it("within the deciding policy the first matching item (in written order) decides", () => {
    const e = engine([{ ...masks[0], policyPriority: 1 }, masks[1]]);
    const a = e.evaluateDataMask(req(ssn, "select", "alice"));
    expect([a.maskType, a.policyId]).toEqual(["MASK_NONE", 10]);
    const b = e.evaluateDataMask(req(ssn, "select", "bob"));
    expect([b.maskType, b.policyId]).toEqual(["MASK", 10]);
    const other = e.evaluateDataMask(req({ ...T, column: "name" }, "select", "bob"));
    expect([other.maskType, other.policyId]).toEqual(["MASK_NULL", 11]);
  });

  it("row filters resolve ${{…}} expressions; no filter when no item matches", () => {
    const e = engine([
      {
        id: 20,
        policyType: 2,
        resources: table("sales", "orders"),
        rowFilterPolicyItems: [
          {
            accesses: [{ type: "select" }],
            groups: ["emea"],
            rowFilterInfo: { filterExpr: "region = '${{USER.region}}'" },
          },
        ],
      },
    ]);
    const r = e.evaluateRowFilter({
      ...req(T, "select", "alice", ["emea"]),
      userStore: { userAttributes: { alice: { region: "EU" } } },
    });
    expect([r.filterExpr, r.policyId]).toEqual(["region = 'EU'", 20]);
    expect(e.evaluateRowFilter(req(T, "select", "bob")).filterExpr).toBeUndefined();
  });
});

describe("explain and ACLs", () => {
  const policies: RangerPolicy[] = [
    {
      id: 1,
      name: "analysts",
      resources: table("sales", "*"),
      policyItems: [{ accesses: [{ type: "select" }], groups: ["analysts"] }],
    },
    {
      id: 2,
      name: "hr",
      resources: table("hr", "*"),
      policyItems: [{ accesses: [{ type: "select" }], users: ["alice"] }],
    },
    {
      id: 3,
      name: "cond",
      resources: table("sales", "orders"),
      policyItems: [
        { accesses: [{ type: "update" }], users: ["alice"], conditions: [{ type: "expression", values: ["false"] }] },
      ],
    },
  ];

  it("explain lists candidates with why each did or did not apply and marks the decider", () => {
    const e = engine(policies);
    const x = e.explain(req(T, "select", "alice", ["analysts"]));
    expect(x.result.isAllowed).toBe(true);
    expect(x.decidedBy?.policyId).toBe(1);
    const byId = new Map(x.candidates.map((c) => [c.policyId, c]));
    expect(byId.get(1)).toMatchObject({ verdict: "allow", decided: true, resourceMatched: true });
    expect(byId.get(3)?.reason).toMatch(/do not grant the access type/);
    if (byId.has(2)) expect(byId.get(2)).toMatchObject({ resourceMatched: false, reason: "resources do not match" });
    const u = e.explain(req(T, "update", "alice"));
    expect(u.result.isAllowed).toBe(false);
    expect(u.candidates.find((c) => c.policyId === 3)?.reason).toMatch(/false condition/);
    const b = e.explain(req(T, "select", "bob"));
    expect(b.candidates.find((c) => c.policyId === 1)?.reason).toMatch(/no item names this user/);
    expect(b.decidedBy).toBeNull();
  });

  it("resource ACLs: allowed, conditional (item conditions) and denied entries", () => {
    const e = engine([
      ...policies,
      {
        id: 4,
        resources: table("sales", "orders"),
        denyPolicyItems: [{ accesses: [{ type: "select" }], users: ["mallory"] }],
      },
    ]);
    const acls = e.getResourceACLs({ resource: { elements: T } });
    expect(acls.groupACLs.analysts.select).toMatchObject({ result: 1, isFinal: true });
    expect(acls.userACLs.alice.update).toMatchObject({ result: 2 });
    expect(acls.userACLs.mallory.select).toMatchObject({ result: -1, isFinal: true, policy: { id: 4 } });
    expect(acls.userACLs.alice.select).toBeUndefined();
  });
});
