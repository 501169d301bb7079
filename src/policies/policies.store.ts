import { sql } from "kysely";
import type { AuditChange, AuditContext } from "../audit/audit.service.ts";
import type { RangerPolicy, RangerPolicyResources } from "../engine/types.ts";
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

/** Policies of a service by name (any zone); used for conflicts and upserts. */
export async function findPoliciesByName(db: Queryable, serviceId: number, names: string[]): Promise<PolicyRecord[]> {
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom("policies")
    .select(RECORD_COLUMNS)
    .where("service_id", "=", serviceId)
    .where("name", "in", names)
    .execute();
  return rows.map(toRecord);
}

/** `{id, name, signature}` of the policies of a service holding any of `signatures`. */
export async function findPoliciesBySignature(
  db: Queryable,
  serviceId: number,
  signatures: string[],
): Promise<{ id: number; name: string; signature: string }[]> {
  if (signatures.length === 0) return [];
  const rows = await db
    .selectFrom("policies")
    .select(["id", "name", "resource_signature"])
    .where("service_id", "=", serviceId)
    .where("resource_signature", "in", signatures)
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, signature: r.resource_signature }));
}

function rowValues(w: PolicyWrite) {
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
    body: JSON.stringify(w.body),
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
    .returning(RECORD_COLUMNS)
    .execute();
  for (const row of rows) out.set(row.guid, toRecord(row));
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
    .returning(RECORD_COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord(row);
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

/** Appends to the version history. */
export async function insertVersions(db: Queryable, versions: VersionWrite[]): Promise<void> {
  if (versions.length === 0) return;
  await db
    .insertInto("policy_versions")
    .values(
      versions.map((v) => ({
        policy_id: v.policyId,
        version: v.version,
        service_id: v.serviceId,
        change_type: v.changeType,
        body: JSON.stringify(v.body),
        changed_by: v.actor,
      })),
    )
    .onConflict((oc) => oc.columns(["policy_id", "version"]).doNothing())
    .execute();
}

/** A Ranger policy delta for plugins and the engine. */
export interface DeltaWrite {
  serviceId: number;
  policyId: number;
  changeType: number;
  policiesVersion: number;
  policy: RangerPolicy;
}

/** Appends policy deltas. */
export async function insertDeltas(db: Queryable, deltas: DeltaWrite[]): Promise<void> {
  if (deltas.length === 0) return;
  await db
    .insertInto("policy_deltas")
    .values(
      deltas.map((d) => ({
        service_id: d.serviceId,
        policy_id: d.policyId,
        change_type: d.changeType,
        policies_version: d.policiesVersion,
        policy: JSON.stringify(d.policy),
      })),
    )
    .execute();
}

/**
 * Records many audit events in one statement (same columns as `recordAudit`): a bulk import of
 * thousands of policies keeps one event per policy without one round trip per event.
 */
export async function recordAuditMany(db: Queryable, ctx: AuditContext, changes: AuditChange[]): Promise<void> {
  for (let i = 0; i < changes.length; i += 1000) {
    await db
      .insertInto("audit_events")
      .values(
        changes.slice(i, i + 1000).map((change) => ({
          actor_type: ctx.actor.type,
          actor_id: ctx.actor.id,
          actor_name: ctx.actor.name,
          auth_method: ctx.actor.authMethod,
          action: change.action,
          target_type: change.targetType,
          target_id: change.targetId,
          org_id: change.orgId ?? null,
          before: change.before === undefined || change.before === null ? null : JSON.stringify(change.before),
          after: change.after === undefined || change.after === null ? null : JSON.stringify(change.after),
          request_id: ctx.requestId,
          client_ip: ctx.clientIp,
        })),
      )
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
  /** resource name → value; candidates only, matched exactly by the caller. */
  resources?: Record<string, string>;
  /** Include policies that lack a filtered resource key (ancestor scopes). */
  allowMissingKeys?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: Kysely's builder type for this select is unwieldy
function filtered(db: Queryable, serviceId: number, f: PolicyFilter): any {
  let q = db.selectFrom("policies as p").where("p.service_id", "=", serviceId);
  if (f.policyName !== undefined) q = q.where("p.name", "=", f.policyName);
  if (f.policyNamePartial) {
    const escaped = f.policyNamePartial.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
    q = q.where(sql<boolean>`lower(p.name) like ${`%${escaped}%`}`);
  }
  if (f.policyLabel) q = q.where(sql<boolean>`p.labels @> array[${f.policyLabel}]::text[]`);
  if (f.user) q = q.where(sql<boolean>`p.users @> array[${f.user}]::text[]`);
  if (f.group) q = q.where(sql<boolean>`p.groups @> array[${f.group}]::text[]`);
  if (f.role) q = q.where(sql<boolean>`p.roles @> array[${f.role}]::text[]`);
  if (f.policyType !== undefined) q = q.where("p.policy_type", "=", f.policyType);
  if (f.isEnabled !== undefined) q = q.where("p.is_enabled", "=", f.isEnabled);
  if (f.zoneName !== undefined) q = q.where("p.zone_name", "=", f.zoneName);
  for (const [name, value] of Object.entries(f.resources ?? {})) {
    const matching = sql<boolean>`exists (select 1 from policy_resources pr where pr.policy_id = p.id and pr.service_id = ${serviceId} and pr.resource_name = ${name} and (pr.value_lower = ${value.toLowerCase()} or pr.wild))`;
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

/** Ids and resources of every candidate, for exact resource matching in code. */
export async function listCandidateResources(
  db: Queryable,
  serviceId: number,
  f: PolicyFilter,
): Promise<{ id: number; resources: RangerPolicyResources }[]> {
  const rows = await filtered(db, serviceId, f)
    .select(["p.id", sql`p.body -> 'resources'`.as("resources")])
    .orderBy("p.id")
    .execute();
  return rows.map((r: { id: number; resources: RangerPolicyResources }) => ({ id: r.id, resources: r.resources }));
}

/** Policies by id, in id order. */
export async function getPolicyRecords(db: Queryable, ids: number[]): Promise<PolicyRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom("policies").select(RECORD_COLUMNS).where("id", "in", ids).orderBy("id").execute();
  return rows.map(toRecord);
}
