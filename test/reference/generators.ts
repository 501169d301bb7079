/**
 * fast-check generators of random Ranger worlds: a service-def (2-4 hierarchical resource levels,
 * sometimes a second hierarchy branching off the root, sometimes a recursive path leaf; access types
 * with implied grants; mask and row-filter defs), policies of all three types, nested roles, super
 * users/groups, and many requests per world. Value pools are tiny on purpose so that wildcards,
 * case folding, excludes and overlapping policies collide often.
 */
import fc from "fast-check";
import type {
  EngineInput,
  RangerAccessRequest,
  RangerAccessTypeDef,
  RangerDataMaskPolicyItem,
  RangerPolicy,
  RangerPolicyItem,
  RangerPolicyResources,
  RangerResourceDef,
  RangerRole,
  RangerRowFilterPolicyItem,
  RangerServiceDef,
} from "../../src/engine/types.ts";

export const PATH_MATCHER = "org.apache.ranger.plugin.resourcematcher.RangerPathResourceMatcher";
const DEFAULT_MATCHER = "org.apache.ranger.plugin.resourcematcher.RangerDefaultResourceMatcher";

const USERS = ["u0", "u1", "u2", "u3", "u4", "u5"];
const GROUPS = ["g0", "g1", "g2", "g3", "g4"];
const ROLES = ["r0", "r1", "r2", "r3"];
const ACCESS_NAMES = ["select", "update", "create", "drop", "alter", "read", "write", "all"];
const MASK_TYPES = ["MASK", "MASK_NULL", "MASK_NONE", "MASK_HASH", "CUSTOM"];

/** Concrete request values; upper-case variants exercise ignoreCase. */
const REQ_VALUES = ["a", "b", "ab", "ba", "A", "aB", "c", "abc"];
/** Policy values: concrete values plus wildcard patterns and the odd empty string. */
const POLICY_VALUES = ["a", "b", "ab", "A", "c", "*", "a*", "*b", "?", "a?", "*a*", "b*", ""];
const REQ_PATHS = ["/a", "/a/b", "/a/b/c", "/A/b", "/ab", "/b", "/b/a", "/a/bc", "/"];
const POLICY_PATHS = ["/a", "/a/b", "/a/", "/A", "/b", "/a/*", "/*/b", "/a?", "/a*", "*", "/"];

/** A world: everything the engine is built from, plus the requests to ask it. */
export interface World {
  input: EngineInput;
  cases: WorldCase[];
}

export interface WorldCase {
  request: RangerAccessRequest;
  /** 0 access, 1 data-mask, 2 row-filter */
  policyType: 0 | 1 | 2;
}

// ------------------------------------------------------------------ service-def

interface Shape {
  levels: number;
  branch: boolean;
  pathLeaf: boolean;
  options: { wildCard: boolean; ignoreCase: boolean }[];
  accessTypes: RangerAccessTypeDef[];
}

const arbAccessTypes: fc.Arbitrary<RangerAccessTypeDef[]> = fc
  .shuffledSubarray(ACCESS_NAMES.slice(0, 7), { minLength: 3, maxLength: 6 })
  .chain((names) =>
    fc
      .tuple(
        // implied grants: each type may imply up to two others (chains a→b→c happen, expansion is one level)
        fc.array(fc.subarray(names, { maxLength: 2 }), { minLength: names.length, maxLength: names.length }),
        fc.boolean(), // add an `all` type implying everything
      )
      .map(([implied, withAll]) => {
        const defs: RangerAccessTypeDef[] = names.map((name, i) => ({
          itemId: i + 1,
          name,
          label: name,
          impliedGrants: implied[i].filter((x) => x !== name),
        }));
        if (withAll) defs.push({ itemId: 99, name: "all", label: "all", impliedGrants: [...names] });
        return defs;
      }),
  );

const arbShape: fc.Arbitrary<Shape> = fc.record({
  levels: fc.integer({ min: 2, max: 4 }),
  branch: fc.boolean(),
  pathLeaf: fc.boolean(),
  options: fc.array(
    fc.record({
      wildCard: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      ignoreCase: fc.boolean(),
    }),
    { minLength: 5, maxLength: 5 },
  ),
  accessTypes: arbAccessTypes,
});

function resourceName(level: number): string {
  return `res${level}`;
}

function buildServiceDef(shape: Shape): RangerServiceDef {
  const resources: RangerResourceDef[] = [];
  for (let i = 0; i < shape.levels; i++) {
    const isPath = shape.pathLeaf && i === shape.levels - 1;
    resources.push({
      itemId: i + 1,
      name: resourceName(i),
      type: isPath ? "path" : "string",
      level: (i + 1) * 10,
      parent: i === 0 ? "" : resourceName(i - 1),
      mandatory: true,
      lookupSupported: true,
      recursiveSupported: isPath,
      excludesSupported: !isPath,
      matcher: isPath ? PATH_MATCHER : DEFAULT_MATCHER,
      matcherOptions: {
        wildCard: String(shape.options[i].wildCard),
        ignoreCase: String(shape.options[i].ignoreCase),
      },
      label: resourceName(i),
      isValidLeaf: true,
    });
  }
  if (shape.branch) {
    resources.push({
      itemId: 10,
      name: "side",
      type: "string",
      level: 20,
      parent: resourceName(0),
      mandatory: true,
      lookupSupported: true,
      recursiveSupported: false,
      excludesSupported: true,
      matcher: DEFAULT_MATCHER,
      matcherOptions: { wildCard: String(shape.options[4].wildCard), ignoreCase: String(shape.options[4].ignoreCase) },
      label: "side",
      isValidLeaf: true,
    });
  }
  const main = resources.slice(0, shape.levels);
  const first = shape.accessTypes[0].name;
  return {
    id: 1,
    name: "fuzz",
    resources,
    accessTypes: shape.accessTypes,
    policyConditions: [],
    contextEnrichers: [],
    enums: [],
    dataMaskDef: {
      maskTypes: MASK_TYPES.map((name, i) => ({ itemId: i + 1, name, label: name })),
      accessTypes: [{ itemId: 1, name: first, label: first }],
      resources: main.map((r) => ({ ...r, matcherOptions: { ...r.matcherOptions } })),
    },
    rowFilterDef: {
      accessTypes: [{ itemId: 1, name: first, label: first }],
      resources: main.slice(0, shape.levels - 1).map((r) => ({ ...r, matcherOptions: { ...r.matcherOptions } })),
    },
  };
}

// ------------------------------------------------------------------ policies

const arbPrincipals = fc
  .record({
    users: fc.subarray(USERS, { maxLength: 2 }),
    groups: fc.subarray(GROUPS, { maxLength: 2 }),
    roles: fc.subarray(ROLES, { maxLength: 2 }),
    // `{USER}`, `{OWNER}` and `public` are rarer in real policies
    special: fc.integer({ min: 0, max: 19 }),
  })
  .map((p) => ({
    users: p.special === 0 ? [...p.users, "{USER}"] : p.special === 1 ? [...p.users, "{OWNER}"] : p.users,
    groups: p.special === 2 ? [...p.groups, "public"] : p.groups,
    roles: p.roles,
  }))
  .filter((p) => p.users.length + p.groups.length + p.roles.length > 0);

function arbItem(accessTypes: string[]): fc.Arbitrary<RangerPolicyItem> {
  return fc
    .record({
      principals: arbPrincipals,
      accesses: fc.subarray(accessTypes, { minLength: 1, maxLength: Math.min(3, accessTypes.length) }),
      notAllowed: fc.integer({ min: 0, max: 9 }),
      delegateAdmin: fc.integer({ min: 0, max: 9 }),
    })
    .map((r) => ({
      accesses: r.accesses.map((type, i) => ({ type, isAllowed: !(i === 0 && r.notAllowed === 0) })),
      users: r.principals.users,
      groups: r.principals.groups,
      roles: r.principals.roles,
      conditions: [],
      delegateAdmin: r.delegateAdmin === 0,
    }));
}

/** Resources of one spec: a prefix (1..depth) of one hierarchy of the given defs. */
function arbSpec(defs: RangerResourceDef[][], fullDepth: boolean): fc.Arbitrary<RangerPolicyResources> {
  return fc
    .constantFrom(...defs)
    .chain((h) =>
      (fullDepth ? fc.constant(h.length) : fc.integer({ min: 1, max: h.length })).chain((depth) =>
        fc.tuple(
          ...h.slice(0, depth).map((def) => {
            const isPath = def.matcher === PATH_MATCHER;
            return fc.record({
              name: fc.constant(def.name),
              values: fc.subarray(isPath ? POLICY_PATHS : POLICY_VALUES, { minLength: 1, maxLength: 2 }),
              isExcludes: def.excludesSupported
                ? fc.integer({ min: 0, max: 9 }).map((x) => x === 0)
                : fc.constant(false),
              isRecursive: isPath ? fc.boolean() : fc.constant(false),
            });
          }),
        ),
      ),
    )
    .map((levels) => {
      const out: RangerPolicyResources = {};
      for (const l of levels) out[l.name] = { values: l.values, isExcludes: l.isExcludes, isRecursive: l.isRecursive };
      return out;
    });
}

function mainHierarchies(sd: RangerServiceDef): RangerResourceDef[][] {
  const defs = sd.resources ?? [];
  const chain = defs.filter((d) => d.name.startsWith("res"));
  const out = [chain];
  const side = defs.find((d) => d.name === "side");
  if (side) out.push([chain[0], side]);
  return out;
}

function arbAccessPolicy(sd: RangerServiceDef): fc.Arbitrary<Omit<RangerPolicy, "id" | "name">> {
  const types = (sd.accessTypes ?? []).map((a) => a.name);
  const hs = mainHierarchies(sd);
  return fc
    .record({
      resources: arbSpec(hs, false),
      additional: fc
        .integer({ min: 0, max: 9 })
        .chain((x) =>
          x === 0
            ? fc.array(arbSpec(hs, false), { minLength: 1, maxLength: 1 })
            : fc.constant<RangerPolicyResources[]>([]),
        ),
      allow: fc.array(arbItem(types), { maxLength: 3 }),
      deny: fc.array(arbItem(types), { maxLength: 2 }),
      allowEx: fc.array(arbItem(types), { maxLength: 1 }),
      denyEx: fc.array(arbItem(types), { maxLength: 1 }),
      override: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      denyAllElse: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
      enabled: fc.integer({ min: 0, max: 19 }).map((x) => x !== 0),
      audit: fc.integer({ min: 0, max: 2 }).map((x) => x !== 0),
    })
    .map((r) => ({
      policyType: 0,
      policyPriority: r.override ? 1 : 0,
      isEnabled: r.enabled,
      isAuditEnabled: r.audit,
      resources: r.resources,
      ...(r.additional.length > 0 ? { additionalResources: r.additional } : {}),
      policyItems: r.allow,
      // Ranger's validator forbids deny items and deny exceptions on deny-all-else policies (3049)
      denyPolicyItems: r.denyAllElse ? [] : r.deny,
      allowExceptions: r.allowEx,
      denyExceptions: r.denyAllElse ? [] : r.denyEx,
      isDenyAllElse: r.denyAllElse,
    }));
}

function arbMaskPolicy(sd: RangerServiceDef): fc.Arbitrary<Omit<RangerPolicy, "id" | "name">> {
  const access = sd.dataMaskDef!.accessTypes![0].name;
  const defs = sd.dataMaskDef!.resources!;
  const item: fc.Arbitrary<RangerDataMaskPolicyItem> = fc
    .record({ base: arbItem([access]), maskType: fc.constantFrom(...MASK_TYPES), cond: fc.boolean() })
    .map(({ base, maskType, cond }) => ({
      ...base,
      accesses: [{ type: access, isAllowed: true }],
      dataMaskInfo: {
        dataMaskType: maskType,
        ...(maskType === "CUSTOM" ? { valueExpr: "concat('x', {col})" } : {}),
        ...(cond ? { conditionExpr: "{col} is not null" } : {}),
      },
    }));
  return fc
    .record({
      resources: arbSpec([defs], true),
      items: fc.array(item, { minLength: 1, maxLength: 3 }),
      override: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      audit: fc.boolean(),
    })
    .map((r) => ({
      policyType: 1,
      policyPriority: r.override ? 1 : 0,
      isEnabled: true,
      isAuditEnabled: r.audit,
      resources: r.resources,
      dataMaskPolicyItems: r.items,
    }));
}

function arbRowFilterPolicy(sd: RangerServiceDef): fc.Arbitrary<Omit<RangerPolicy, "id" | "name">> {
  const access = sd.rowFilterDef!.accessTypes![0].name;
  const defs = sd.rowFilterDef!.resources!;
  const item: fc.Arbitrary<RangerRowFilterPolicyItem> = fc
    .record({ base: arbItem([access]), n: fc.integer({ min: 0, max: 9 }) })
    .map(({ base, n }) => ({
      ...base,
      accesses: [{ type: access, isAllowed: true }],
      rowFilterInfo: { filterExpr: `region = 'r${n}'` },
    }));
  return fc
    .record({
      resources: arbSpec([defs], true),
      items: fc.array(item, { minLength: 1, maxLength: 2 }),
      override: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
      audit: fc.boolean(),
    })
    .map((r) => ({
      policyType: 2,
      policyPriority: r.override ? 1 : 0,
      isEnabled: true,
      isAuditEnabled: r.audit,
      resources: r.resources,
      rowFilterPolicyItems: r.items,
    }));
}

const arbRoles: fc.Arbitrary<RangerRole[]> = fc
  .array(
    fc.record({
      users: fc.subarray(USERS, { maxLength: 2 }),
      groups: fc.subarray(GROUPS, { maxLength: 2 }),
      roles: fc.subarray(ROLES, { maxLength: 1 }),
    }),
    { minLength: ROLES.length, maxLength: ROLES.length },
  )
  .map((rs) =>
    rs.map((r, i) => ({
      id: i + 1,
      name: ROLES[i],
      users: r.users.map((name) => ({ name, isAdmin: false })),
      groups: r.groups.map((name) => ({ name, isAdmin: false })),
      roles: r.roles.filter((x) => x !== ROLES[i]).map((name) => ({ name, isAdmin: false })),
    })),
  );

// ------------------------------------------------------------------ requests

function arbRequest(sd: RangerServiceDef): fc.Arbitrary<WorldCase> {
  const types = (sd.accessTypes ?? []).map((a) => a.name);
  const hs = mainHierarchies(sd);
  const mainDepth = hs[0].length;
  const valueFor = (def: RangerResourceDef) =>
    def.matcher === PATH_MATCHER ? fc.constantFrom(...REQ_PATHS) : fc.constantFrom(...REQ_VALUES);
  const principal = fc.record({
    user: fc.constantFrom(...USERS, "nobody"),
    groups: fc.subarray(GROUPS, { maxLength: 3 }),
    explicitRoles: fc
      .integer({ min: 0, max: 9 })
      .chain((x) => (x === 0 ? fc.subarray(ROLES, { minLength: 1 }) : fc.constant<string[]>([]))),
    owner: fc.constantFrom(undefined, undefined, "u0", "u1"),
  });
  const access: fc.Arbitrary<WorldCase> = fc
    .record({
      h: fc.constantFrom(...hs),
      depthPick: fc.integer({ min: 0, max: 20 }),
      vals: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      accessType: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...types) },
        { weight: 2, arbitrary: fc.constantFrom("", "_any") },
        { weight: 1, arbitrary: fc.constant("_admin") },
      ),
      scope: fc.integer({ min: 0, max: 9 }).map((x) => (x === 0 ? ("SELF_OR_DESCENDANTS" as const) : undefined)),
      // RANGER-5001: a host that must not pass a denied descendant (HBase family scans) sets false
      descendantDeny: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
      principal,
    })
    .chain((r) => {
      // depth 0 (no resource) is rare; full depth is most common
      const depth = r.depthPick === 0 ? 0 : Math.min(r.h.length, 1 + (r.depthPick % r.h.length));
      return fc.tuple(fc.constant(r), fc.tuple(...r.h.slice(0, depth).map(valueFor)));
    })
    .map(([r, values]) => {
      const elements: Record<string, string> = {};
      values.forEach((v, i) => {
        elements[r.h[i].name] = v;
      });
      const request: RangerAccessRequest = {
        resource: { elements, ...(r.principal.owner ? { ownerUser: r.principal.owner } : {}) },
        accessType: r.accessType,
        user: r.principal.user,
        userGroups: r.principal.groups,
        ...(r.principal.explicitRoles.length > 0 ? { userRoles: r.principal.explicitRoles } : {}),
        ...(r.scope ? { resourceMatchingScope: r.scope } : {}),
        ...(r.descendantDeny ? { isDescendantDenyIgnored: false } : {}),
      };
      return { request, policyType: 0 as const };
    });
  const maskOrFilter = (policyType: 1 | 2) => {
    const defs = policyType === 1 ? sd.dataMaskDef!.resources! : sd.rowFilterDef!.resources!;
    const acc = policyType === 1 ? sd.dataMaskDef!.accessTypes![0].name : sd.rowFilterDef!.accessTypes![0].name;
    return fc.record({ principal, values: fc.tuple(...defs.map(valueFor)) }).map(({ principal: pr, values }) => {
      const elements: Record<string, string> = {};
      values.forEach((v, i) => {
        elements[defs[i].name] = v;
      });
      const request: RangerAccessRequest = {
        resource: { elements, ...(pr.owner ? { ownerUser: pr.owner } : {}) },
        accessType: acc,
        user: pr.user,
        userGroups: pr.groups,
        ...(pr.explicitRoles.length > 0 ? { userRoles: pr.explicitRoles } : {}),
      };
      return { request, policyType };
    });
  };
  void mainDepth;
  return fc.oneof(
    { weight: 7, arbitrary: access },
    { weight: 2, arbitrary: maskOrFilter(1) },
    { weight: 1, arbitrary: maskOrFilter(2) },
  );
}

// ------------------------------------------------------------------ worlds

/** A random world with `requests` requests; policies are built once and asked many questions. */
export function arbWorld(requests: number, maxPolicies = 12): fc.Arbitrary<World> {
  return arbShape
    .map(buildServiceDef)
    .chain((sd) =>
      fc.record({
        sd: fc.constant(sd),
        policies: fc.array(
          fc.oneof(
            { weight: 7, arbitrary: arbAccessPolicy(sd) },
            { weight: 2, arbitrary: arbMaskPolicy(sd) },
            { weight: 1, arbitrary: arbRowFilterPolicy(sd) },
          ),
          { minLength: 1, maxLength: maxPolicies },
        ),
        roles: arbRoles,
        superUsers: fc.constantFrom<string[]>([], [], [], ["u5"]),
        superGroups: fc.constantFrom<string[]>([], [], [], ["g4"]),
        cases: fc.array(arbRequest(sd), { minLength: requests, maxLength: requests }),
      }),
    )
    .map((w) => {
      const policies: RangerPolicy[] = w.policies.map((p, i) => ({
        id: i + 1,
        name: `p${i + 1}`,
        service: "fuzzdev",
        version: 1,
        ...p,
      }));
      // the audit-default rule keys off "no policies": keep at least one enabled access policy
      if (!policies.some((p) => p.isEnabled !== false && (p.policyType ?? 0) === 0)) {
        policies.push({
          id: policies.length + 1,
          name: `p${policies.length + 1}`,
          service: "fuzzdev",
          version: 1,
          policyType: 0,
          isEnabled: true,
          isAuditEnabled: false,
          resources: { res0: { values: ["zzz"] } },
          policyItems: [],
        });
      }
      const input: EngineInput = {
        serviceName: "fuzzdev",
        serviceDef: w.sd,
        policies,
        roles: w.roles,
        serviceConfig: { superUsers: w.superUsers, superGroups: w.superGroups },
      };
      return { input, cases: w.cases };
    });
}
