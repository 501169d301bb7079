/**
 * Benchmark workloads, deterministic from a fixed seed.
 *
 * `tables` is the peers workload of ../shared/bench/peers/workload.mjs, reimplemented here so the
 * bench does not depend on the shared folder at run time: N table-level policies, policy p grants
 * `select` on its own table c.s_<i>.t_<j> (⌈√N⌉ schemas) to one of max(10, N/10) groups; 1,000 users
 * each in 1-5 groups; allowed requests pick a table granted to one of the user's groups, denied
 * requests a policy table the user cannot select. Ground truth is kept for every request.
 *
 * `mix` is a Ranger-realistic mix over the same catalog/schema/table shape (see buildMixWorkload).
 */
import type {
  EngineInput,
  RangerAccessRequest,
  RangerPolicy,
  RangerServiceDef,
  ServiceTags,
  TagPolicyInput,
} from "../../src/engine/types.ts";
import { mulberry32 } from "../../test/support/seeded-random.ts";

export interface TablePolicy {
  id: string;
  group: string;
  table: string;
}

export interface BenchUser {
  id: string;
  groups: string[];
}

export interface TableRequest {
  user: BenchUser;
  table: string;
  action: "select";
  expected: boolean;
}

export interface TablesWorkload {
  n: number;
  policies: TablePolicy[];
  users: BenchUser[];
  groupCount: number;
  schemas: number;
  allowed: TableRequest[];
  denied: TableRequest[];
}

/** The peers workload (same generator, same seed, same draws). */
export function buildTablesWorkload(n: number, { users = 1000, requests = 10000, seed = 42 } = {}): TablesWorkload {
  const rnd = mulberry32(seed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const schemas = Math.ceil(Math.sqrt(n));
  const groupCount = Math.max(10, Math.floor(n / 10));
  const policies: TablePolicy[] = [];
  const tableGroups = new Map<string, Set<string>>();
  const groupTables = new Map<string, string[]>();
  for (let p = 0; p < n; p++) {
    const table = `c.s_${p % schemas}.t_${Math.floor(p / schemas)}`;
    const group = `g_${pick(groupCount)}`;
    policies.push({ id: `p${p}`, group, table });
    if (!tableGroups.has(table)) tableGroups.set(table, new Set());
    tableGroups.get(table)!.add(group);
    if (!groupTables.has(group)) groupTables.set(group, []);
    groupTables.get(group)!.push(table);
  }
  const userList: BenchUser[] = [];
  for (let u = 0; u < users; u++) {
    const k = 1 + pick(5);
    const gs = new Set<string>();
    while (gs.size < k) gs.add(`g_${pick(groupCount)}`);
    userList.push({ id: `u_${u}`, groups: [...gs] });
  }
  const isAllowed = (user: BenchUser, table: string) => {
    const gs = tableGroups.get(table);
    return !!gs && user.groups.some((g) => gs.has(g));
  };
  const allowed: TableRequest[] = [];
  while (allowed.length < requests) {
    const user = userList[pick(users)];
    const tables = groupTables.get(user.groups[pick(user.groups.length)]);
    if (!tables) continue;
    allowed.push({ user, table: tables[pick(tables.length)], action: "select", expected: true });
  }
  const denied: TableRequest[] = [];
  while (denied.length < requests) {
    const user = userList[pick(users)];
    const table = policies[pick(n)].table;
    if (!isAllowed(user, table)) denied.push({ user, table, action: "select", expected: false });
  }
  return { n, policies, users: userList, groupCount, schemas, allowed, denied };
}

// ------------------------------------------------------------------ Ranger JSON form

const DEFAULT_MATCHER = "org.apache.ranger.plugin.resourcematcher.RangerDefaultResourceMatcher";
const opts = { wildCard: "true", ignoreCase: "true" };

/** A trino-shaped service-def (catalog → schema → table → column), as in Ranger's trino service-def. */
export function trinoServiceDef(): RangerServiceDef {
  const res = (itemId: number, name: string, level: number, parent?: string) => ({
    itemId,
    name,
    type: "string",
    level,
    ...(parent ? { parent } : {}),
    mandatory: true,
    lookupSupported: true,
    recursiveSupported: false,
    excludesSupported: true,
    matcher: DEFAULT_MATCHER,
    matcherOptions: { ...opts },
    label: name,
    description: name,
    isValidLeaf: name !== "column",
  });
  const resources = [
    res(1, "catalog", 10),
    res(2, "schema", 20, "catalog"),
    res(3, "table", 30, "schema"),
    res(4, "column", 40, "table"),
  ];
  const names = [
    "select",
    "insert",
    "create",
    "drop",
    "delete",
    "use",
    "alter",
    "grant",
    "revoke",
    "show",
    "impersonate",
    "execute",
  ];
  const accessTypes = names.map((name, i) => ({ itemId: i + 1, name, label: name, category: "READ" }));
  accessTypes.push({ itemId: 99, name: "all", label: "all", category: "READ", impliedGrants: [...names] } as never);
  const maskTypes = ["MASK", "MASK_SHOW_LAST_4", "MASK_SHOW_FIRST_4", "MASK_HASH", "MASK_NULL", "MASK_NONE", "CUSTOM"];
  return {
    id: 203,
    name: "trino",
    resources,
    accessTypes,
    policyConditions: [],
    contextEnrichers: [],
    enums: [],
    dataMaskDef: {
      maskTypes: maskTypes.map((name, i) => ({ itemId: i + 1, name, label: name })),
      accessTypes: [{ itemId: 1, name: "select", label: "select" }],
      resources: resources.map((r) => ({ ...r, matcherOptions: { wildCard: "true" } })),
    },
    rowFilterDef: {
      accessTypes: [{ itemId: 1, name: "select", label: "select" }],
      resources: resources.slice(0, 3).map((r) => ({ ...r, matcherOptions: { wildCard: "true" } })),
    },
  };
}

export function splitTable(table: string): { catalog: string; schema: string; table: string } {
  const [catalog, schema, t] = table.split(".");
  return { catalog, schema, table: t };
}

/** Ranger JSON for the tables workload: one access policy per table policy. */
export function tablesEngineInput(w: TablesWorkload): EngineInput {
  const policies: RangerPolicy[] = w.policies.map((p, i) => {
    const t = splitTable(p.table);
    return {
      id: i + 1,
      name: p.id,
      service: "dev_trino",
      version: 1,
      isEnabled: true,
      isAuditEnabled: true,
      policyType: 0,
      policyPriority: 0,
      resources: { catalog: { values: [t.catalog] }, schema: { values: [t.schema] }, table: { values: [t.table] } },
      policyItems: [{ accesses: [{ type: "select", isAllowed: true }], users: [], groups: [p.group], roles: [] }],
    };
  });
  return { serviceName: "dev_trino", serviceDef: trinoServiceDef(), policies, roles: [] };
}

export function tableRequestToRanger(r: TableRequest): RangerAccessRequest {
  return {
    resource: { elements: splitTable(r.table) },
    accessType: r.action,
    user: r.user.id,
    userGroups: r.user.groups,
  };
}

// ------------------------------------------------------------------ the Ranger-realistic mix

export interface MixCase {
  kind: "access" | "any" | "mask" | "rowfilter";
  policyType: 0 | 1 | 2;
  request: RangerAccessRequest;
  /** expected isAllowed (access/any), maskType (mask) or filterExpr (rowfilter); filled by the caller */
  expected?: boolean | string | null;
}

export interface MixWorkload {
  n: number;
  input: EngineInput;
  cases: MixCase[];
  /** schema → indexes of the policies that can concern it (a sound pre-filter for ground truth) */
  policiesBySchema: Map<string, RangerPolicy[]>;
  globalPolicies: RangerPolicy[];
  taggedTables: Set<string>;
  piiGroup: string;
}

/**
 * The Ranger-realistic mix at N policies (same catalog/schema/table shape, ⌈√N⌉ schemas):
 * 55% table grants to groups, 10% table-wildcard grants (`t_1*`, `*`), 5% excludes, 10% tables
 * with deny items (and a deny exception), 3% override-priority grants, 10% column masks
 * (MASK_SHOW_LAST_4 for analysts, MASK_NONE for admins), 7% row filters; plus a tag-service PII
 * tag on 1% of tables that denies `select` to one group, and a catalog-wide audit policy.
 * Requests: 60% select on a table, 10% `_any` on a schema (Trino's "show schemas"), 20% column
 * masks, 10% row filters.
 */
export function buildMixWorkload(n: number, { users = 1000, requests = 10000, seed = 7 } = {}): MixWorkload {
  const rnd = mulberry32(seed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const schemas = Math.ceil(Math.sqrt(n));
  const groupCount = Math.max(10, Math.floor(n / 10));
  const tablesPerSchema = Math.ceil(n / schemas);
  const group = () => `g_${pick(groupCount)}`;
  const userList: BenchUser[] = [];
  for (let u = 0; u < users; u++) {
    const k = 1 + pick(5);
    const gs = new Set<string>();
    while (gs.size < k) gs.add(group());
    if (u % 10 === 0) gs.add("analysts");
    if (u % 50 === 0) gs.add("admins");
    if (u % 20 === 0) gs.add("pii_restricted");
    userList.push({ id: `u_${u}`, groups: [...gs] });
  }
  const policies: RangerPolicy[] = [];
  const bySchema = new Map<string, RangerPolicy[]>();
  const globalPolicies: RangerPolicy[] = [];
  const add = (p: Omit<RangerPolicy, "id" | "name" | "service" | "version">, schema: string | null) => {
    const id = policies.length + 1;
    const full: RangerPolicy = { id, name: `mix-${id}`, service: "dev_trino", version: 1, isEnabled: true, ...p };
    policies.push(full);
    if (schema === null) globalPolicies.push(full);
    else {
      if (!bySchema.has(schema)) bySchema.set(schema, []);
      bySchema.get(schema)!.push(full);
    }
  };
  const item = (groups: string[], type = "select") => ({
    accesses: [{ type, isAllowed: true }],
    users: [],
    groups,
    roles: [],
  });
  // a catalog-wide audit policy (public, no accesses) as Ranger installs by default
  add(
    {
      policyType: 0,
      isAuditEnabled: true,
      resources: { catalog: { values: ["c"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
      policyItems: [{ accesses: [], users: [], groups: ["public"], roles: [] }],
    },
    null,
  );
  for (let p = 1; p < n; p++) {
    const s = `s_${p % schemas}`;
    const t = `t_${pick(tablesPerSchema)}`;
    const base = { catalog: { values: ["c"] }, schema: { values: [s] } };
    const r = rnd();
    if (r < 0.55) {
      add(
        {
          policyType: 0,
          isAuditEnabled: true,
          resources: { ...base, table: { values: [t] } },
          policyItems: [item([group()])],
        },
        s,
      );
    } else if (r < 0.65) {
      const pattern = rnd() < 0.3 ? "*" : `t_${pick(10)}*`;
      add(
        {
          policyType: 0,
          isAuditEnabled: true,
          resources: { ...base, table: { values: [pattern] } },
          policyItems: [item([group()])],
        },
        s,
      );
    } else if (r < 0.7) {
      add(
        {
          policyType: 0,
          isAuditEnabled: false,
          resources: { ...base, table: { values: [t, `t_${pick(tablesPerSchema)}`], isExcludes: true } },
          policyItems: [item([group()])],
        },
        s,
      );
    } else if (r < 0.8) {
      add(
        {
          policyType: 0,
          isAuditEnabled: true,
          resources: { ...base, table: { values: [t] } },
          policyItems: [item([group(), group()])],
          denyPolicyItems: [item([group()])],
          denyExceptions: [{ ...item(["admins"]), users: [] }],
        },
        s,
      );
    } else if (r < 0.83) {
      add(
        {
          policyType: 0,
          policyPriority: 1,
          isAuditEnabled: true,
          resources: { ...base, table: { values: [t] } },
          policyItems: [item([group()])],
        },
        s,
      );
    } else if (r < 0.93) {
      add(
        {
          policyType: 1,
          isAuditEnabled: true,
          resources: { ...base, table: { values: [t] }, column: { values: [rnd() < 0.5 ? "ssn" : "email"] } },
          dataMaskPolicyItems: [
            { ...item(["admins"]), dataMaskInfo: { dataMaskType: "MASK_NONE" } },
            { ...item(["analysts", group()]), dataMaskInfo: { dataMaskType: "MASK_SHOW_LAST_4" } },
          ],
        },
        s,
      );
    } else {
      add(
        {
          policyType: 2,
          isAuditEnabled: true,
          resources: { ...base, table: { values: [t] } },
          rowFilterPolicyItems: [
            { ...item(["analysts", group()]), rowFilterInfo: { filterExpr: `region = 'r${pick(5)}'` } },
          ],
        },
        s,
      );
    }
  }
  // tags: PII on 1% of tables, denied to pii_restricted by a tag policy
  const taggedTables = new Set<string>();
  const tagCount = Math.max(1, Math.floor(n / 100));
  const serviceResources: ServiceTags["serviceResources"] = [];
  const resourceToTagIds: Record<string, number[]> = {};
  for (let i = 0; i < tagCount; i++) {
    const key = `c.s_${pick(schemas)}.t_${pick(tablesPerSchema)}`;
    if (taggedTables.has(key)) continue;
    taggedTables.add(key);
    const t = splitTable(key);
    const id = serviceResources.length + 1;
    serviceResources.push({
      id,
      serviceName: "dev_trino",
      resourceElements: {
        catalog: { values: [t.catalog] },
        schema: { values: [t.schema] },
        table: { values: [t.table] },
      },
    });
    resourceToTagIds[String(id)] = [1];
  }
  const serviceTags: ServiceTags = {
    serviceName: "dev_trino",
    tagModel: "shared",
    tagVersion: 1,
    tagDefinitions: { "1": { id: 1, name: "PII" } },
    tags: { "1": { id: 1, type: "PII" } },
    serviceResources,
    resourceToTagIds,
  };
  const tagPolicies: TagPolicyInput = {
    serviceName: "dev_tag",
    serviceDef: {
      id: 100,
      name: "tag",
      resources: [
        {
          itemId: 1,
          name: "tag",
          type: "string",
          level: 1,
          mandatory: true,
          matcher: DEFAULT_MATCHER,
          matcherOptions: { wildCard: "false", ignoreCase: "false" },
          label: "TAG",
        },
      ],
      accessTypes: [{ itemId: 1, name: "trino:select", label: "select" }],
      policyConditions: [],
      contextEnrichers: [],
    },
    policies: [
      {
        id: 1_000_001,
        name: "PII deny",
        service: "dev_tag",
        isEnabled: true,
        isAuditEnabled: true,
        policyType: 0,
        resources: { tag: { values: ["PII"] } },
        denyPolicyItems: [
          { accesses: [{ type: "trino:select", isAllowed: true }], users: [], groups: ["pii_restricted"] },
        ],
      },
    ],
  };
  const input: EngineInput = {
    serviceName: "dev_trino",
    serviceDef: trinoServiceDef(),
    policies,
    roles: [],
    tagPolicies,
    serviceTags,
  };

  const cases: MixCase[] = [];
  for (let i = 0; i < requests; i++) {
    const user = userList[pick(users)];
    const s = `s_${pick(schemas)}`;
    const t = `t_${pick(tablesPerSchema)}`;
    const principal = { user: user.id, userGroups: user.groups };
    const r = rnd();
    if (r < 0.6) {
      cases.push({
        kind: "access",
        policyType: 0,
        request: { resource: { elements: { catalog: "c", schema: s, table: t } }, accessType: "select", ...principal },
      });
    } else if (r < 0.7) {
      cases.push({
        kind: "any",
        policyType: 0,
        request: { resource: { elements: { catalog: "c", schema: s } }, accessType: "", ...principal },
      });
    } else if (r < 0.9) {
      const column = ["ssn", "email", "name"][pick(3)];
      cases.push({
        kind: "mask",
        policyType: 1,
        request: {
          resource: { elements: { catalog: "c", schema: s, table: t, column } },
          accessType: "select",
          ...principal,
        },
      });
    } else {
      cases.push({
        kind: "rowfilter",
        policyType: 2,
        request: { resource: { elements: { catalog: "c", schema: s, table: t } }, accessType: "select", ...principal },
      });
    }
  }
  return { n, input, cases, policiesBySchema: bySchema, globalPolicies, taggedTables, piiGroup: "pii_restricted" };
}
