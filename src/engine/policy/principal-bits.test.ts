import { describe, expect, it } from "vitest";
import { createEngine, type RangerAccessRequest, type RangerPolicy, type RangerServiceDef } from "../index.ts";
import { PrincipalBits } from "./principal-bits.ts";

/**
 * The principal pre-filter (principal-bits.ts, principal-rows.ts) may only ever rule out policies
 * that could not apply: with more names than bits, names share bits, and decisions must not change.
 */
const sd: RangerServiceDef = {
  name: "hive",
  resources: [
    { name: "database", level: 1, matcherOptions: { wildCard: "true", ignoreCase: "true" } },
    { name: "table", level: 2, parent: "database", matcherOptions: { wildCard: "true", ignoreCase: "true" } },
  ],
  accessTypes: [{ name: "select" }, { name: "update" }],
};

const req = (elements: Record<string, string>, accessType: string, user: string, groups: string[]) =>
  ({ resource: { elements }, accessType, user, userGroups: groups }) as RangerAccessRequest;

describe("principal bits", () => {
  it("gives one name one bit, in turn over 64 bits, and a request the bits of the names policies use", () => {
    const bits = new PrincipalBits();
    const first = bits.groupBit("g0");
    expect(bits.groupBit("g0")).toBe(first);
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) seen.add(bits.groupBit(`g${i}`));
    expect(seen.size).toBe(64);
    expect(bits.groupBit("g64")).toBe(first); // the 65th name shares the first one's bit
    const state = {
      user: "nobody",
      groups: ["g1", "g40", "unknown"],
      principalMaskReady: false,
      principalMaskLo: 0,
      principalMaskHi: 0,
    };
    bits.fill(state);
    expect(state.principalMaskReady).toBe(true);
    expect(state.principalMaskLo).toBe(1 << bits.groupBit("g1"));
    expect(state.principalMaskHi).toBe(1 << (bits.groupBit("g40") - 32));
  });

  it("never changes a decision when 200 groups share 64 bits, for table requests and a schema's `_any`", () => {
    // 200 policies on one database, each granting select on its own table to its own group, plus one
    // granting update on every table to a user: long candidate lists (packed rows) and shared bits
    const policies: RangerPolicy[] = [];
    for (let i = 0; i < 200; i++)
      policies.push({
        id: i + 1,
        name: `p${i}`,
        resources: { database: { values: ["db"] }, table: { values: [`t${i}`] } },
        policyItems: [{ accesses: [{ type: "select" }], groups: [`g${i}`] }],
      });
    policies.push({
      id: 1000,
      name: "owner-like",
      isAuditEnabled: false,
      resources: { database: { values: ["db"] }, table: { values: ["*"] } },
      policyItems: [{ accesses: [{ type: "update" }], users: ["alice"] }],
    });
    const e = createEngine({ serviceDef: sd, policies });
    for (let i = 0; i < 200; i += 7) {
      const own = e.isAccessAllowed(req({ database: "db", table: `t${i}` }, "select", "u", [`g${i}`]));
      expect(own.isAllowed).toBe(true);
      expect(own.policyId).toBe(i + 1);
      // g(i+64) shares g(i)'s bit: the pre-filter lets the policy through, the items still refuse
      const twin = e.isAccessAllowed(req({ database: "db", table: `t${i}` }, "select", "u", [`g${(i + 64) % 200}`]));
      expect(twin.isAllowed).toBe(false);
    }
    // `_any` on the database: 201 candidates, allowed through the one group's policy only
    const any = e.isAccessAllowed(req({ database: "db" }, "", "u", ["g150"]));
    expect(any.isAllowed).toBe(true);
    expect(any.policyId).toBe(151);
    expect(e.isAccessAllowed(req({ database: "db" }, "", "u", ["nobody"])).isAllowed).toBe(false);
    const alice = e.isAccessAllowed(req({ database: "db" }, "", "alice", []));
    expect(alice.isAllowed).toBe(true);
    expect(alice.policyId).toBe(1000);
    // every candidate is counted, passed over or evaluated, as Ranger counts them
    expect(e.isAccessAllowed(req({ database: "db" }, "", "u", ["nobody"])).evaluatedPoliciesCount).toBe(201);
  });
});
