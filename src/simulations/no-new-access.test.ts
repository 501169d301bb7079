import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createEngine, type PolicyEngine } from "../engine/index.ts";
import type {
  RangerPolicy,
  RangerPolicyDelta,
  RangerPolicyItem,
  RangerPolicyResources,
  RangerServiceDef,
} from "../engine/types.ts";
import { checkNoNewAccess, type PrincipalPair } from "./no-new-access.ts";
import { policyNames, principalClasses, type SimPrincipal } from "./principals.ts";
import { emptyTotals, replayRequests } from "./replay.ts";

/**
 * Small generated worlds (a two-level service, a few users in a few groups, a handful of policies
 * and a draft of creations, updates and deletions): the no-new-access verdict must be exactly the
 * brute-force one (every user × every resource of the world × every access type, asked of the
 * engine before and after), every counterexample must be real, and the copy-on-write overlay must
 * answer every request exactly as an engine rebuilt from the changed policies.
 */

const DEF: RangerServiceDef = {
  name: "sim",
  resources: [
    { name: "db", level: 1, matcherOptions: { wildCard: "true", ignoreCase: "false" } },
    { name: "table", level: 2, parent: "db", matcherOptions: { wildCard: "true", ignoreCase: "false" } },
  ],
  accessTypes: [{ name: "read" }, { name: "write" }],
};
const ACCESS = ["read", "write"];
const USERS = ["u1", "u2", "u3", "u4", "u5"];
const GROUPS = ["g1", "g2", "g3"];
const DB_VALUES = ["a", "b", "ab", "*", "a*"];
const TABLE_VALUES = ["t", "u", "tu", "*", "t*"];
// the world's resources: every value a policy writes, and values only wildcards match
const WORLD_DBS = ["a", "b", "ab", "abc", "c"];
const WORLD_TABLES = ["t", "u", "tu", "tux", "v"];

const arbItem: fc.Arbitrary<RangerPolicyItem> = fc.record({
  users: fc.subarray(USERS, { maxLength: 2 }),
  groups: fc.subarray([...GROUPS, "public"], { maxLength: 2 }),
  accesses: fc.subarray(ACCESS, { minLength: 1 }).map((a) => a.map((type) => ({ type }))),
});

const arbResources: fc.Arbitrary<RangerPolicyResources> = fc
  .tuple(
    fc.subarray(DB_VALUES, { minLength: 1, maxLength: 2 }),
    fc.option(fc.subarray(TABLE_VALUES, { minLength: 1, maxLength: 2 })),
  )
  .map(
    ([dbs, tables]): RangerPolicyResources =>
      tables ? { db: { values: dbs }, table: { values: tables } } : { db: { values: dbs } },
  );

const arbBody = fc.record({
  resources: arbResources,
  policyItems: fc.array(arbItem, { maxLength: 2 }),
  denyPolicyItems: fc.array(arbItem, { maxLength: 1 }),
  allowExceptions: fc.array(arbItem, { maxLength: 1 }),
  policyPriority: fc.constantFrom(0, 0, 0, 1),
});

type Change = { kind: "create" } | { kind: "update"; index: number } | { kind: "delete"; index: number };

const arbWorld = fc.record({
  base: fc.array(arbBody, { minLength: 1, maxLength: 5 }),
  members: fc.array(fc.subarray(GROUPS), { minLength: USERS.length, maxLength: USERS.length }),
  changes: fc.array(
    fc.tuple(
      fc.oneof(
        fc.constant<Change>({ kind: "create" }),
        fc.nat(4).map<Change>((index) => ({ kind: "update", index })),
        fc.nat(4).map<Change>((index) => ({ kind: "delete", index })),
      ),
      arbBody,
    ),
    { minLength: 1, maxLength: 3 },
  ),
  membershipAdd: fc.option(fc.tuple(fc.constantFrom(...USERS), fc.constantFrom(...GROUPS))),
});

function worldResources(): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const db of WORLD_DBS) {
    out.push({ db });
    for (const table of WORLD_TABLES) out.push({ db, table });
  }
  return out;
}

function allowed(engine: PolicyEngine, p: SimPrincipal, resource: Record<string, string>, accessType: string): boolean {
  return engine.isAccessAllowed({
    resource: { elements: resource },
    accessType,
    user: p.user,
    userGroups: [...p.groups],
    userRoles: [...p.roles],
  }).isAllowed;
}

describe("no new access (generated worlds, brute force)", () => {
  it("agrees exactly with brute-force enumeration, and the overlay with a rebuilt engine", () => {
    fc.assert(
      fc.property(arbWorld, (w) => {
        const base: RangerPolicy[] = w.base.map((b, i) => ({ id: i + 1, name: `p${i + 1}`, ...b }));
        const directory: SimPrincipal[] = USERS.map((user, i) => ({ user, groups: w.members[i] ?? [], roles: [] }));
        // the draft, as deltas, and the policies as they are after it
        const deltas: RangerPolicyDelta[] = [];
        const current = new Map(base.map((p) => [p.id as number, p]));
        let next = 100;
        for (const [change, body] of w.changes) {
          const ids = [...current.keys()];
          if (change.kind === "create" || ids.length === 0) {
            const p = { id: next, name: `new${next++}`, ...body };
            deltas.push({ changeType: 0, policy: p });
            current.set(p.id, p);
          } else {
            const id = ids[change.index % ids.length] as number;
            const old = current.get(id) as RangerPolicy;
            if (change.kind === "update") {
              const p = { ...body, id, name: old.name };
              deltas.push({ changeType: 1, policy: p });
              current.set(id, p);
            } else {
              deltas.push({ changeType: 2, policy: old });
              current.delete(id);
            }
          }
        }
        const draftDir = w.membershipAdd
          ? { memberships: { add: [{ user: w.membershipAdd[0], group: w.membershipAdd[1] }] } }
          : undefined;
        const before = createEngine({ serviceDef: DEF, policies: base });
        const after = before.withDraft(deltas);
        const rebuilt = createEngine({ serviceDef: DEF, policies: [...current.values()] });

        const withDir = (p: SimPrincipal): SimPrincipal =>
          draftDir && p.user === w.membershipAdd?.[0]
            ? { ...p, groups: [...new Set([...p.groups, w.membershipAdd[1]])].sort() }
            : p;
        // brute force over the whole world
        const expected = new Set<string>();
        for (const p of directory) {
          for (const r of worldResources()) {
            for (const a of ACCESS) {
              const later = allowed(after, withDir(p), r, a);
              expect(later).toBe(allowed(rebuilt, withDir(p), r, a));
              if (later && !allowed(before, p, r, a)) expected.add(`${p.user} ${JSON.stringify(r)} ${a}`);
            }
          }
        }

        // the check over the principals the service would pick (simulations.service.ts)
        const draftPolicies = deltas.filter((d) => d.changeType !== 2).map((d) => d.policy);
        const replaced = deltas.filter((d) => d.changeType !== 0).map((d) => base.find((p) => p.id === d.policy.id));
        const replacedPolicies = replaced.filter((p): p is RangerPolicy => p !== undefined);
        const names = policyNames([...draftPolicies, ...replacedPolicies]);
        const picked = new Map<string, SimPrincipal>();
        for (const p of directory) {
          if (names.users.has(p.user) || p.groups.some((g) => names.groups.has(g)) || p.user === w.membershipAdd?.[0])
            picked.set(p.user, p);
        }
        if (names.anyUser) {
          const named = new Set([...names.users, ...policyNames(base).users]);
          for (const p of principalClasses(directory, named)) picked.set(p.user, p);
        }
        const directoryPolicies = draftDir
          ? base.filter((p) => policyNames([p]).groups.has(w.membershipAdd?.[1] as string))
          : [];
        const pairs: PrincipalPair[] = [...picked.values()].map((p) => ({ before: p, after: withDir(p) }));
        const verdict = checkNoNewAccess({
          before,
          after,
          draftPolicies,
          replacedPolicies: [...replacedPolicies, ...directoryPolicies],
          basePolicies: base,
          extraResources: [],
          principals: pairs,
        });
        expect(verdict.complete).toBe(true);
        expect(verdict.noNewAccess).toBe(expected.size === 0);
        for (const c of verdict.counterexamples) {
          const p = directory.find((d) => d.user === c.user) as SimPrincipal;
          expect(allowed(after, withDir(p), c.resource, c.accessType)).toBe(true);
          expect(allowed(before, p, c.resource, c.accessType)).toBe(false);
        }
      }),
      { numRuns: 200, seed: 18 },
    );
  });

  it("replays a tag policy change: a deny on a tag newly denies the tagged resource", () => {
    const tagDef: RangerServiceDef = {
      name: "tag",
      resources: [{ name: "tag", level: 1, matcherOptions: { wildCard: "true", ignoreCase: "false" } }],
      accessTypes: [{ name: "sim:read" }, { name: "sim:write" }],
    };
    const before = createEngine({
      serviceDef: DEF,
      policies: [
        {
          id: 1,
          name: "all",
          resources: { db: { values: ["*"] } },
          policyItems: [{ groups: ["g1"], accesses: [{ type: "read" }] }],
        },
      ],
      tagPolicies: { serviceName: "tags", serviceDef: tagDef, policies: [] },
      serviceTags: {
        tags: { "1": { type: "PII" } },
        serviceResources: [{ id: 1, resourceElements: { db: { values: ["hr"] } } }],
        resourceToTagIds: { "1": [1] },
      },
    });
    const deny: RangerPolicy = {
      id: 50,
      name: "no-pii",
      serviceType: "tag",
      resources: { tag: { values: ["PII"] } },
      denyPolicyItems: [{ groups: ["g1"], accesses: [{ type: "sim:read" }] }],
    };
    const after = before.withDraft([{ changeType: 0, policy: deny }]);
    const totals = emptyTotals();
    const changes = replayRequests(
      before,
      after,
      [
        { user: "ann", groups: ["g1"], roles: [], resource: { db: "hr" }, accessType: "read", policyType: 0 },
        { user: "ann", groups: ["g1"], roles: [], resource: { db: "sales" }, accessType: "read", policyType: 0 },
      ],
      undefined,
      totals,
      1_000_000,
    );
    expect(totals).toMatchObject({ replayed: 2, changed: 1, newlyDenied: 1 });
    expect(changes[0]).toMatchObject({
      resource: { db: "hr" },
      before: { allowed: true },
      after: { allowed: false, policyId: 50 },
    });
    // the base engine is untouched
    expect(
      before.isAccessAllowed({
        resource: { elements: { db: "hr" } },
        accessType: "read",
        user: "ann",
        userGroups: ["g1"],
        userRoles: [],
      }).isAllowed,
    ).toBe(true);
  });
});
