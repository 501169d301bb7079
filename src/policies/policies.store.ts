import { sql } from "kysely";
import { type AuditChange, type AuditContext, auditRow } from "../audit/audit.service.ts";
import type { RangerPolicy, RangerPolicyResources } from "../engine/types.ts";
import { PayloadTooLarge } from "../errors.ts";
import { normaliseName } from "../http/names.ts";
import type { Queryable } from "../storage/db.ts";

/** A stored policy: the canonical Ranger body plus the columns the server owns. */
export interface PolicyRecord {
  id: number;
  guid: string;
  serviceId: number;
  name: string;
  zoneName: string;
  policyType: number;
  isEnabled: boolean;
  version: number;
  resourceSignature: string;
  body: RangerPolicy;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Columns written for a policy (insert or update). */
export interface PolicyWrite {
  guid: string;
  serviceId: number;
  body: RangerPolicy;
  signature: string;
  labels: string[];
  users: string[];
  groups: string[];
  roles: string[];
  actor: string | null;
}

// biome-ignore lint/suspicious/noExplicitAny: rows come from several selects with the same columns
function toRecord(row: any): PolicyRecord {
  return {
    id: row.id,
    guid: row.guid,
    serviceId: row.service_id,
    name: row.name,
    zoneName: row.zone_name,
    policyType: row.policy_type,
    isEnabled: row.is_enabled,
    version: row.version,
    resourceSignature: row.resource_signature,
    body: row.body as RangerPolicy,
    createdBy: row.created_by,
    updatedBy: row.updated_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Columns the database sets on write; the body is already known to the writer. */
const META_COLUMNS = [
  "id",
  "guid",
  "service_id",
  "name",
  "zone_name",
  "policy_type",
  "is_enabled",
  "version",
  "resource_signature",
  "created_by",
  "updated_by",
  "created_at",
  "updated_at",
] as const;

const RECORD_COLUMNS = [
  "id",
  "guid",
  "service_id",
  "name",
  "zone_name",
  "policy_type",
  "is_enabled",
  "version",
  "resource_signature",
  "body",
  "created_by",
  "updated_by",
  "created_at",
  "updated_at",
] as const;

/** One policy by id, or undefined; `lock` takes a row lock for an update. */
export async function getPolicyRecord(db: Queryable, id: number, lock = false): Promise<PolicyRecord | undefined> {
  let q = db.selectFrom("policies").select(RECORD_COLUMNS).where("id", "=", id);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/**
 * The policies of a service holding any of `names` (in `zones`) or any of `signatures`:
 * everything a batch of writes can conflict with, in one round trip.
 */
export async function findConflicting(
  db: Queryable,
  serviceId: number,
  zones: string[],
  names: string[],
  signatures: string[],
): Promise<PolicyRecord[]> {
  if (names.length === 0 && signatures.length === 0) return [];
  const rows = await db
    .selectFrom("policies")
    .select(RECORD_COLUMNS)
    .where("service_id", "=", serviceId)
    .where((eb) =>
      eb.or([
        // The zone keeps the (service_id, zone_name, name) index usable for the name probe.
        ...(names.length > 0 ? [eb.and([eb("zone_name", "in", zones), eb("name", "in", names)])] : []),
        ...(signatures.length > 0 ? [eb("resource_signature", "in", signatures)] : []),
      ]),
    )
    .execute();
  return rows.map(toRecord);
}

/**
 * Largest stored policy, as JSON. The embedded database's WebAssembly memory grows with the largest
 * single value it handles (a 16 MiB policy takes it from 189 to 563 MiB) and never gives it back;
 * up to 2 MiB it does not grow at all. Import files stay up to 64 MiB: it is each policy that is capped.
 */
export const MAX_POLICY_BYTES = 2 * 1024 * 1024;

function rowValues(w: PolicyWrite) {
  const body = JSON.stringify(w.body);
  if (body.length > MAX_POLICY_BYTES)
    throw PayloadTooLarge(
      `policy \`${w.body.name ?? ""}\`: ${body.length} characters of JSON, more than the ${MAX_POLICY_BYTES} a policy may have (split its resource values over several policies)`,
      { meta: { rule: "maxPolicyBytes", field: "policy", limit: MAX_POLICY_BYTES } },
    );
  return {
    name: w.body.name ?? "",
    zone_name: w.body.zoneName ?? "",
    policy_type: w.body.policyType ?? 0,
    policy_priority: w.body.policyPriority ?? 0,
    is_enabled: w.body.isEnabled !== false,
    resource_signature: w.signature,
    labels: w.labels,
    users: w.users,
    groups: w.groups,
    roles: w.roles,
    body,
  };
}

/** Inserts policies in one statement; returns the records keyed by guid. */
export async function insertPolicies(db: Queryable, writes: PolicyWrite[]): Promise<Map<string, PolicyRecord>> {
  const out = new Map<string, PolicyRecord>();
  if (writes.length === 0) return out;
  const rows = await db
    .insertInto("policies")
    .values(
      writes.map((w) => ({
        ...rowValues(w),
        guid: w.guid,
        service_id: w.serviceId,
        created_by: w.actor,
        updated_by: w.actor,
      })),
    )
    .returning(META_COLUMNS)
    .execute();
  const bodies = new Map(writes.map((w) => [w.guid, w.body]));
  for (const row of rows) out.set(row.guid, toRecord({ ...row, body: bodies.get(row.guid) }));
  return out;
}

/** Rewrites one policy and bumps its own version. */
export async function updatePolicyRow(db: Queryable, id: number, w: PolicyWrite): Promise<PolicyRecord> {
  const row = await db
    .updateTable("policies")
    .set({
      ...rowValues(w),
      version: sql`version + 1`,
      updated_by: w.actor,
      updated_at: sql`now()`,
    })
    .where("id", "=", id)
    .returning(META_COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord({ ...row, body: w.body });
}

/** Deletes one policy; its resources go by cascade. */
export async function deletePolicyRow(db: Queryable, id: number): Promise<void> {
  await db.deleteFrom("policies").where("id", "=", id).execute();
}

/** True for values that are not plain literals: wildcards and `{USER}`-style tokens. */
export function isWildValue(value: string): boolean {
  return /[*?{]/.test(value);
}

/**
 * Replaces the search rows of the given policies. Excluded and recursive resources are marked
 * `wild` too: whether they match a search value is decided in code, not by equality.
 */
export async function replacePolicyResources(
  db: Queryable,
  serviceId: number,
  policies: { id: number; resources: RangerPolicyResources; additional?: RangerPolicyResources[] }[],
  replacing: boolean,
): Promise<void> {
  if (policies.length === 0) return;
  if (replacing) {
    await db
      .deleteFrom("policy_resources")
      .where(
        "policy_id",
        "in",
        policies.map((p) => p.id),
      )
      .execute();
  }
  const rows: { policy_id: number; service_id: number; resource_name: string; value_lower: string; wild: boolean }[] =
    [];
  for (const p of policies) {
    for (const resources of [p.resources, ...(p.additional ?? [])]) {
      for (const [name, r] of Object.entries(resources)) {
        for (const value of r.values ?? []) {
          rows.push({
            policy_id: p.id,
            service_id: serviceId,
            resource_name: name,
            value_lower: value.toLowerCase(),
            wild: r.isExcludes === true || r.isRecursive === true || isWildValue(value),
          });
        }
      }
    }
  }
  for (let i = 0; i < rows.length; i += 5000) {
    await db
      .insertInto("policy_resources")
      .values(rows.slice(i, i + 5000))
      .execute();
  }
}

/** A row of a policy's history. */
export interface VersionWrite {
  policyId: number;
  version: number;
  serviceId: number;
  changeType: number;
  body: RangerPolicy;
  actor: string | null;
}

/** A Ranger policy delta for plugins and the engine. */
export interface DeltaWrite {
  serviceId: number;
  policyId: number;
  changeType: number;
  policiesVersion: number;
  policy: RangerPolicy;
}

/** Items written in one history statement; larger batches take the multi-statement path. */
const ONE_STATEMENT_MAX = 1000;

/**
 * Records a batch of policy changes: bumps the service's policy version by one per change and
 * writes the version-history rows, the Ranger deltas (numbered with the new versions, in order)
 * and the audit events (same columns as `recordAudit`). Up to 1,000 changes this is one statement
 * of data-modifying CTEs, so a single-policy write pays one round trip for all of it, and the
 * service row lock it takes is held only until the commit that follows.
 */
export async function recordChanges(
  db: Queryable,
  ctx: AuditContext,
  serviceId: number,
  changes: { version?: VersionWrite; delta: Omit<DeltaWrite, "policiesVersion">; audit: AuditChange }[],
): Promise<void> {
  const n = changes.length;
  if (n === 0) return;
  const versionRows = changes.flatMap((c) =>
    c.version
      ? [
          {
            policy_id: c.version.policyId,
            version: c.version.version,
            service_id: c.version.serviceId,
            change_type: c.version.changeType,
            body: JSON.stringify(c.version.body),
            changed_by: c.version.actor,
          },
        ]
      : [],
  );
  const bump = { policy_version: sql<number>`policy_version + ${n}`, policy_update_time: sql<Date>`now()` };
  if (n <= ONE_STATEMENT_MAX) {
    let q = db.with("b", (qb) =>
      qb.updateTable("services").set(bump).where("id", "=", serviceId).returning("policy_version"),
    );
    if (versionRows.length > 0) {
      q = q.with("v", (qb) =>
        qb
          .insertInto("policy_versions")
          .values(versionRows)
          .onConflict((oc) => oc.columns(["policy_id", "version"]).doNothing()),
      ) as unknown as typeof q;
    }
    q = q.with("a", (qb) =>
      qb.insertInto("audit_events").values(changes.map((c) => auditRow(ctx, c.audit))),
    ) as unknown as typeof q;
    await q
      .insertInto("policy_deltas")
      .values(
        changes.map((c, k) => ({
          service_id: c.delta.serviceId,
          policy_id: c.delta.policyId,
          change_type: c.delta.changeType,
          policies_version: sql<number>`(select policy_version from b) - ${n - 1 - k}`,
          policy: JSON.stringify(c.delta.policy),
        })),
      )
      .execute();
    return;
  }
  const row = await db
    .updateTable("services")
    .set(bump)
    .where("id", "=", serviceId)
    .returning("policy_version")
    .executeTakeFirstOrThrow();
  const first = Number(row.policy_version) - n + 1;
  for (let i = 0; i < n; i += ONE_STATEMENT_MAX) {
    const slice = changes.slice(i, i + ONE_STATEMENT_MAX);
    const versions = versionRows.filter((v) => slice.some((c) => c.version?.policyId === v.policy_id));
    if (versions.length > 0) {
      await db
        .insertInto("policy_versions")
        .values(versions)
        .onConflict((oc) => oc.columns(["policy_id", "version"]).doNothing())
        .execute();
    }
    await db
      .insertInto("policy_deltas")
      .values(
        slice.map((c, k) => ({
          service_id: c.delta.serviceId,
          policy_id: c.delta.policyId,
          change_type: c.delta.changeType,
          policies_version: first + i + k,
          policy: JSON.stringify(c.delta.policy),
        })),
      )
      .execute();
    await db
      .insertInto("audit_events")
      .values(slice.map((c) => auditRow(ctx, c.audit)))
      .execute();
  }
}

/** Search filters of `GET /v1/services/{service}/policies` (Ranger's SearchFilter names). */
export interface PolicyFilter {
  policyName?: string;
  policyNamePartial?: string;
  policyLabel?: string;
  user?: string;
  group?: string;
  role?: string;
  policyType?: number;
  isEnabled?: boolean;
  zoneName?: string;
  /** Only policies of these zones ("" = the default zone): a zone administrator's or auditor's view. */
  zoneNames?: string[];
  /** resource name → value; candidates only, matched exactly by the caller. */
  resources?: Record<string, string>;
  /** Include policies that lack a filtered resource key (ancestor scopes). */
  allowMissingKeys?: boolean;
  /** Only these policies (candidates found by `candidateIds`). */
  ids?: number[];
}

/**
 * Policies of a service whose resource `name` holds `value` literally or holds a non-literal value
 * (wildcard, token, excludes, recursive), in id order: the candidates of a resource search. A
 * separate query on purpose: joined with the policies, the planner misjudges how many non-literal
 * values a key has and scans every policy.
 */
export async function candidateIds(db: Queryable, serviceId: number, name: string, value: string): Promise<number[]> {
  const rows = await sql<{ policy_id: number }>`
    select policy_id from policy_resources
     where service_id = ${serviceId} and resource_name = ${name} and value_lower = ${value.toLowerCase()}
    union
    select policy_id from policy_resources where service_id = ${serviceId} and resource_name = ${name} and wild
    order by policy_id`.execute(db);
  return rows.rows.map((r) => Number(r.policy_id));
}

/** Per resource name of a service: value rows, distinct literal values and non-literal rows. */
export interface ResourceStats {
  rows: number;
  distinct: number;
  wild: number;
}

/** Statistics of a service's resource values, to pick the most selective key of a search. */
export async function resourceStats(db: Queryable, serviceId: number): Promise<Map<string, ResourceStats>> {
  const rows = await db
    .selectFrom("policy_resources")
    .select([
      "resource_name",
      sql<number>`count(*)`.as("rows"),
      sql<number>`count(distinct value_lower)`.as("distinct"),
      sql<number>`count(*) filter (where wild)`.as("wild"),
    ])
    .where("service_id", "=", serviceId)
    .groupBy("resource_name")
    .execute();
  return new Map(
    rows.map((r) => [r.resource_name, { rows: Number(r.rows), distinct: Number(r.distinct), wild: Number(r.wild) }]),
  );
}

/**
 * What a search by part of a policy name (`policyNamePartial`) compares: exactly the expression of
 * migration 0021's trigram index, which PostgreSQL uses only for the same expression.
 */
export const POLICY_NAME_TEXT = sql<string>`lower(p.name)`;

// biome-ignore lint/suspicious/noExplicitAny: Kysely's builder type for this select is unwieldy
function filtered(db: Queryable, serviceId: number, f: PolicyFilter): any {
  let q = db.selectFrom("policies as p").where("p.service_id", "=", serviceId);
  if (f.policyName !== undefined) q = q.where("p.name", "=", normaliseName(f.policyName));
  if (f.policyNamePartial) {
    const escaped = f.policyNamePartial.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
    q = q.where(sql<boolean>`${POLICY_NAME_TEXT} like ${`%${escaped}%`}`);
  }
  if (f.policyLabel) q = q.where(sql<boolean>`p.labels @> array[${f.policyLabel}]::text[]`);
  if (f.user) q = q.where(sql<boolean>`p.users @> array[${f.user}]::text[]`);
  if (f.group) q = q.where(sql<boolean>`p.groups @> array[${f.group}]::text[]`);
  if (f.role) q = q.where(sql<boolean>`p.roles @> array[${f.role}]::text[]`);
  if (f.policyType !== undefined) q = q.where("p.policy_type", "=", f.policyType);
  if (f.isEnabled !== undefined) q = q.where("p.is_enabled", "=", f.isEnabled);
  if (f.zoneName !== undefined) q = q.where("p.zone_name", "=", f.zoneName);
  if (f.zoneNames) q = q.where(sql<boolean>`p.zone_name = any(${f.zoneNames}::text[])`);
  if (f.ids) q = q.where(sql<boolean>`p.id = any(${f.ids}::int[])`);
  for (const [name, value] of Object.entries(f.resources ?? {})) {
    // Two index probes (the literal, then the non-literal values) joined as a semi-join: fast
    // over 100,000 policies, unlike an OR inside a correlated EXISTS.
    const matching = sql<boolean>`p.id in (select pr.policy_id from policy_resources pr where pr.service_id = ${serviceId} and pr.resource_name = ${name} and pr.value_lower = ${value.toLowerCase()} union select pr.policy_id from policy_resources pr where pr.service_id = ${serviceId} and pr.resource_name = ${name} and pr.wild)`;
    q = f.allowMissingKeys
      ? q.where(
          sql<boolean>`(${matching} or not exists (select 1 from policy_resources pr where pr.policy_id = p.id and pr.resource_name = ${name}))`,
        )
      : q.where(matching);
  }
  return q;
}

/** Counts the policies matching SQL-expressible filters. */
export async function countPolicies(db: Queryable, serviceId: number, f: PolicyFilter): Promise<number> {
  const row = await filtered(db, serviceId, f).select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A page of policies in id order after `afterId`. */
export async function listPolicies(
  db: Queryable,
  serviceId: number,
  f: PolicyFilter,
  limit: number,
  afterId: number | null,
): Promise<PolicyRecord[]> {
  let q = filtered(db, serviceId, f);
  if (afterId !== null) q = q.where("p.id", ">", afterId);
  const rows = await q
    .select(RECORD_COLUMNS.map((c) => `p.${c}`))
    .orderBy("p.id")
    .limit(limit)
    .execute();
  return rows.map(toRecord);
}

/** Every candidate of a resource search, whole: the caller matches resources exactly and pages. */
export async function listCandidates(db: Queryable, serviceId: number, f: PolicyFilter): Promise<PolicyRecord[]> {
  const rows = await filtered(db, serviceId, f)
    .select(RECORD_COLUMNS.map((c) => `p.${c}`))
    .orderBy("p.id")
    .execute();
  return rows.map(toRecord);
}
