import { sql } from "kysely";
import type { RangerPolicy, RangerPolicyDelta, RangerServiceDef, SecurityZoneInfo } from "../engine/index.ts";
import { presentPolicy } from "../policies/policy-model.ts";
import type { Db, Queryable } from "../storage/db.ts";
import { readServiceTags, type ServiceTagsDocument } from "../tags/service-tags.ts";
import { readServiceTagsDelta } from "../tags/service-tags-delta.ts";
import { securityZonesOf } from "../zones/zones.store.ts";
import { nextTurn } from "./next-turn.ts";

/** The service row fields an engine depends on; `updatedAt` changes with its configs. */
interface ServiceRowState {
  id: number;
  name: string;
  type: string;
  configs: Record<string, string>;
  /** A disabled tag service contributes no tag policies (Ranger drops `tagPolicies`). */
  isEnabled: boolean;
  policyVersion: number;
  policyUpdateTime: Date | null;
  updatedAt: Date;
  defUpdatedAt: Date;
}

/** The tag service linked to a service: what its tag policies and their freshness depend on. */
export type TagServiceState = ServiceRowState;

/** A service's own state: its row, plus its resource tags' version and its linked tag service. */
export interface ServiceState extends ServiceRowState {
  /** Bumped by every change to the service's resource tags. */
  tagVersion: number;
  tagUpdateTime: Date | null;
  /** The linked tag service, or null. */
  tagService: TagServiceState | null;
}

/** The linked tag service's policies, as the engine and plugins take them. */
export interface TagPolicySnapshot {
  service: TagServiceState;
  def: RangerServiceDef;
  /** Every policy of the tag service; empty when the tag service is disabled. */
  policies: RangerPolicy[];
}

/** Everything one engine is built from, read in one snapshot. */
export interface ServiceSnapshot {
  service: ServiceState;
  def: RangerServiceDef;
  /** Every policy of the service, as Ranger presents it (disabled ones included, as Ranger does). */
  policies: RangerPolicy[];
  /** The linked tag service's policies; null when no enabled tag service is linked. */
  tag: TagPolicySnapshot | null;
  /** The service's resource tags (Ranger `ServiceTags`). */
  serviceTags: ServiceTagsDocument;
  /** The security zones the service takes part in: resources and tag-service flag, no policies. */
  zones: Record<string, SecurityZoneInfo>;
}

/** The service named `name` with its def's update time and its linked tag service, or undefined. */
export async function readServiceState(db: Queryable, name: string): Promise<ServiceState | undefined> {
  const row = await db
    .selectFrom("services as s")
    .innerJoin("service_defs as d", "d.name", "s.type")
    .leftJoin("services as t", "t.id", "s.tag_service_id")
    .leftJoin("service_defs as td", "td.name", "t.type")
    .select([
      "s.id",
      "s.name",
      "s.type",
      "s.configs",
      "s.is_enabled",
      "s.policy_version",
      "s.policy_update_time",
      "s.updated_at",
      "s.tag_version",
      "s.tag_update_time",
      "d.updated_at as def_updated_at",
      "t.id as t_id",
      "t.name as t_name",
      "t.type as t_type",
      "t.configs as t_configs",
      "t.is_enabled as t_is_enabled",
      "t.policy_version as t_policy_version",
      "t.policy_update_time as t_policy_update_time",
      "t.updated_at as t_updated_at",
      "td.updated_at as t_def_updated_at",
    ])
    .where("s.name", "=", name)
    .executeTakeFirst();
  if (!row) return undefined;
  const tagService: TagServiceState | null =
    row.t_id === null || row.t_name === null || row.t_type === null
      ? null
      : {
          id: row.t_id,
          name: row.t_name,
          type: row.t_type,
          configs: (row.t_configs ?? {}) as Record<string, string>,
          isEnabled: row.t_is_enabled === true,
          policyVersion: Number(row.t_policy_version),
          policyUpdateTime: row.t_policy_update_time ?? null,
          updatedAt: row.t_updated_at as Date,
          defUpdatedAt: row.t_def_updated_at as Date,
        };
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    configs: (row.configs ?? {}) as Record<string, string>,
    isEnabled: row.is_enabled,
    policyVersion: Number(row.policy_version),
    policyUpdateTime: row.policy_update_time,
    updatedAt: row.updated_at,
    defUpdatedAt: row.def_updated_at,
    tagVersion: Number(row.tag_version),
    tagUpdateTime: row.tag_update_time,
    tagService,
  };
}

/** Every policy of a service as Ranger presents it, in id order. */
/** Rows per query of `readPolicies`: small enough that decoding one page is a short turn of the event loop. */
const POLICY_PAGE_ROWS = 2_000;

/**
 * A service's policies in id order, read a page at a time (keyset on id) with the event loop let
 * run between pages: decoding 100,000 policies in one result held the server for 200–300 ms per
 * request it tried to answer meanwhile. Inside the snapshot's transaction the pages stay consistent.
 */
async function readPolicies(db: Queryable, service: { id: number; name: string; type: string }) {
  const out: RangerPolicy[] = [];
  let afterId = 0;
  for (;;) {
    const rows = await db
      .selectFrom("policies")
      .select([
        "id",
        "guid",
        "version",
        "is_enabled",
        "resource_signature",
        "body",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
      ])
      .where("service_id", "=", service.id)
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(POLICY_PAGE_ROWS)
      .execute();
    for (const r of rows)
      out.push(
        presentPolicy(r.body as RangerPolicy, {
          id: r.id,
          guid: r.guid,
          version: r.version,
          service: service.name,
          serviceType: service.type,
          resourceSignature: r.resource_signature,
          isEnabled: r.is_enabled,
          createdBy: r.created_by,
          updatedBy: r.updated_by,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
        }),
      );
    if (rows.length < POLICY_PAGE_ROWS) return out;
    afterId = rows[rows.length - 1].id;
    await nextTurn();
  }
}

/** A service-def by name with its id, as the engine takes it. */
async function readDef(db: Queryable, name: string): Promise<RangerServiceDef> {
  const def = await db
    .selectFrom("service_defs")
    .select(["id", "def"])
    .where("name", "=", name)
    .executeTakeFirstOrThrow();
  return { ...(def.def as unknown as RangerServiceDef), id: def.id };
}

/**
 * The linked tag service's def and policies (none when it is disabled, or when `withPolicies` is
 * false: a delta answer needs the def only), or null when none is linked.
 */
export async function readTagPolicies(
  db: Queryable,
  service: ServiceState,
  withPolicies = true,
): Promise<TagPolicySnapshot | null> {
  const tag = service.tagService;
  if (!tag) return null;
  return {
    service: tag,
    def: await readDef(db, tag.type),
    policies: tag.isEnabled && withPolicies ? await readPolicies(db, tag) : [],
  };
}

/**
 * Reads a consistent snapshot of a service for a full build: in one transaction (REPEATABLE
 * READ on PostgreSQL), so the policy version, the policies, the linked tag service's policies,
 * the tag version, the resource tags and the security zones agree even while writers commit.
 */
export async function readServiceSnapshot(db: Db, name: string): Promise<ServiceSnapshot | undefined> {
  return db.transaction(async (tx) => {
    await sql`set transaction isolation level repeatable read`.execute(tx);
    const service = await readServiceState(tx, name);
    if (!service) return undefined;
    const def = await readDef(tx, service.type);
    const policies = await readPolicies(tx, service);
    const tag = await readTagPolicies(tx, service);
    const serviceTags = await readServiceTags(tx, service);
    const zones = await securityZonesOf(tx, service.id, service.tagService?.id ?? null);
    return { service, def, policies, tag, serviceTags, zones };
  });
}

/**
 * Committed deltas of a service after `afterVersion`, in version order, or null when the log
 * cannot bring the caller to `toVersion` without a gap (versions bumped without a delta, or a
 * pruned log): the caller must rebuild then.
 */
export async function readDeltas(
  db: Queryable,
  serviceId: number,
  afterVersion: number,
  toVersion: number,
): Promise<RangerPolicyDelta[] | null> {
  if (toVersion <= afterVersion) return [];
  const rows = await db
    .selectFrom("policy_deltas")
    .select(["id", "change_type", "policies_version", "policy"])
    .where("service_id", "=", serviceId)
    .where("policies_version", ">", afterVersion)
    .where("policies_version", "<=", toVersion)
    .orderBy("policies_version")
    .orderBy("id")
    .execute();
  let expected = afterVersion + 1;
  for (const r of rows) {
    if (r.policies_version !== expected) return null;
    expected++;
  }
  if (expected !== toVersion + 1) return null;
  return rows.map((r) => ({
    id: r.id,
    changeType: r.change_type,
    policiesVersion: r.policies_version,
    policy: r.policy as unknown as RangerPolicy,
  }));
}

/** Whether a delta (from a service's own log) is a copy of a tag policy change of its tag service. */
export function isTagPolicyDelta(delta: RangerPolicyDelta, tagServiceType: string | null): boolean {
  return tagServiceType !== null && delta.policy?.serviceType === tagServiceType;
}

/** A service's state and what its resource tags became since a version: a delta, or the whole document. */
export type ServiceTagsChange =
  | { service: ServiceState; delta: ServiceTagsDocument; serviceTags?: undefined }
  | { service: ServiceState; delta?: undefined; serviceTags: ServiceTagsDocument };

/**
 * Reads a service's state and its resource-tag changes since `fromVersion` in one transaction
 * (REPEATABLE READ on PostgreSQL), so they agree with the `tagVersion` beside them: the delta
 * from the tag change log when it bridges the gap (`readServiceTagsDelta`, O(change)), else the
 * whole `ServiceTags` (resources in id order, as `readServiceSnapshot` reads them). What a live
 * engine needs to follow a resource-tag change without a rebuild.
 */
export async function readServiceTagsChange(
  db: Db,
  name: string,
  fromVersion: number,
): Promise<ServiceTagsChange | undefined> {
  return db.transaction(async (tx) => {
    await sql`set transaction isolation level repeatable read`.execute(tx);
    const service = await readServiceState(tx, name);
    if (!service) return undefined;
    const delta = await readServiceTagsDelta(tx, service, fromVersion);
    if (delta) return { service, delta };
    return { service, serviceTags: await readServiceTags(tx, service) };
  });
}
