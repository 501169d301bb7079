import { describe, expect, it } from "vitest";
import type { RangerPolicy } from "../engine/types.ts";
import { applyGrant, applyRevoke, type GrantChange, mergeAppliedPolicy } from "./ranger-merge.ts";

const change = (over: Partial<GrantChange>): GrantChange => ({
  users: [],
  groups: [],
  roles: [],
  accessTypes: ["select"],
  delegateAdmin: false,
  replaceExistingPermissions: false,
  ...over,
});
const access = (...types: string[]) => types.map((type) => ({ type, isAllowed: true }));
/** An item as a merge leaves it: all three principal lists and the delegateAdmin flag present. */
const item = (over: Record<string, unknown>) => ({ users: [], groups: [], roles: [], delegateAdmin: false, ...over });
const base = (over: Partial<RangerPolicy>): RangerPolicy => ({
  name: "p",
  resources: { database: { values: ["db"] }, table: { values: ["t"] } },
  ...over,
});

describe("plugin grant merge (Ranger ServiceRESTUtil rules)", () => {
  it("splits a shared item, adds the access for the grantee only, and regroups items with equal accesses", () => {
    const policy = base({
      policyItems: [
        { users: ["alice", "bob"], accesses: access("select") },
        { users: ["carol"], accesses: access("select", "update") },
      ],
    });
    const out = applyGrant(policy, change({ users: ["alice"], accessTypes: ["update"] }));
    expect(out.policyItems).toEqual([
      item({ users: ["bob"], accesses: access("select") }),
      item({ users: ["carol", "alice"], accesses: access("select", "update") }),
    ]);
    // the input is left alone
    expect(policy.policyItems?.[0]?.users).toEqual(["alice", "bob"]);
  });

  it("turns a deny of the granted access into a deny exception and drops an allow exception of it", () => {
    const policy = base({
      policyItems: [{ groups: ["eng"], accesses: access("select") }],
      denyPolicyItems: [{ groups: ["contractors"], accesses: access("select", "update") }],
      allowExceptions: [{ groups: ["contractors"], accesses: access("select") }],
    });
    const out = applyGrant(policy, change({ groups: ["contractors"], accessTypes: ["select"] }));
    expect(out.policyItems).toEqual([item({ groups: ["eng", "contractors"], accesses: access("select") })]);
    expect(out.denyPolicyItems).toEqual([item({ groups: ["contractors"], accesses: access("update") })]);
    expect(out.denyExceptions).toEqual([item({ groups: ["contractors"], accesses: access("select") })]);
    expect(out.allowExceptions).toEqual([]);
  });

  it("replaceExistingPermissions first removes the grantee from the allow items", () => {
    const policy = base({
      policyItems: [{ users: ["alice"], accesses: access("select", "update"), delegateAdmin: true }],
    });
    const out = applyGrant(
      policy,
      change({ users: ["alice"], accessTypes: ["select"], replaceExistingPermissions: true }),
    );
    expect(out.policyItems).toEqual([item({ users: ["alice"], accesses: access("select") })]);
  });

  it("delegated admin granted with the access stays on the grantee's item", () => {
    const out = applyGrant(base({}), change({ roles: ["stewards"], accessTypes: ["alter"], delegateAdmin: true }));
    expect(out.policyItems).toEqual([item({ roles: ["stewards"], accesses: access("alter"), delegateAdmin: true })]);
  });

  it("with conditions anywhere, the grant's item is appended unchanged (Ranger combinePolicy)", () => {
    const policy = base({
      policyItems: [
        { users: ["alice"], accesses: access("select"), conditions: [{ type: "ip-range", values: ["10.*"] }] },
      ],
    });
    const out = applyGrant(policy, change({ users: ["alice"], accessTypes: ["update"] }));
    expect(out.policyItems).toHaveLength(2);
    expect(out.policyItems?.[1]).toEqual({
      users: ["alice"],
      groups: [],
      roles: [],
      accesses: access("update"),
      delegateAdmin: false,
    });
    // the same grant again adds nothing
    expect(applyGrant(out, change({ users: ["alice"], accessTypes: ["update"] })).policyItems).toHaveLength(2);
  });

  it("revoke removes the access from the revokee only, regroups by access set, and drops an item left empty", () => {
    const policy = base({
      policyItems: [
        { users: ["alice", "bob"], accesses: access("select", "update"), delegateAdmin: true },
        { groups: ["eng"], accesses: access("select") },
      ],
    });
    const partial = applyRevoke(policy, change({ users: ["alice"], accessTypes: ["update"] }));
    // alice keeps select without delegated admin, the same access set as eng's item: one item
    expect(partial.policyItems).toEqual([
      item({ users: ["bob"], accesses: access("select", "update"), delegateAdmin: true }),
      item({ groups: ["eng"], users: ["alice"], accesses: access("select") }),
    ]);
    const whole = applyRevoke(partial, change({ groups: ["eng"], accessTypes: ["select"] }));
    expect(whole.policyItems).toEqual([
      item({ users: ["bob"], accesses: access("select", "update"), delegateAdmin: true }),
      item({ users: ["alice"], accesses: access("select") }),
    ]);
  });

  it("revoke with replaceExistingPermissions removes the principals from every allow item", () => {
    const policy = base({
      policyItems: [
        { users: ["alice"], groups: ["eng"], accesses: access("select") },
        { users: ["alice"], accesses: access("update") },
      ],
    });
    const out = applyRevoke(policy, change({ users: ["alice"], replaceExistingPermissions: true }));
    expect(out.policyItems).toEqual([{ users: [], groups: ["eng"], accesses: access("select") }]);
  });

  it("apply with deny items: the principal's allow of that access becomes an allow exception, other lists merge per principal", () => {
    const existing = base({
      policyItems: [{ groups: ["eng", "interns"], accesses: access("select", "update") }],
      denyExceptions: [{ groups: ["interns"], accesses: access("update") }],
    });
    const applied = base({
      denyPolicyItems: [{ groups: ["interns"], accesses: access("update") }],
      policyItems: [{ users: ["alice"], accesses: access("select") }],
    });
    const out = mergeAppliedPolicy(existing, applied);
    expect(out.policyItems).toEqual([
      item({ groups: ["eng"], accesses: access("select", "update") }),
      item({ users: ["alice"], groups: ["interns"], accesses: access("select") }),
    ]);
    expect(out.denyPolicyItems).toEqual([item({ groups: ["interns"], accesses: access("update") })]);
    expect(out.allowExceptions).toEqual([item({ groups: ["interns"], accesses: access("update") })]);
    expect(out.denyExceptions).toEqual([]);
    expect(existing.denyExceptions).toHaveLength(1);
  });
});
