import { sql } from "kysely";
import type { RangerPolicy, RangerPolicyDelta, RangerServiceDef } from "../engine/index.ts";
import { presentPolicy } from "../policies/policy-model.ts";
import type { Db, Queryable } from "../storage/db.ts";

/** The service row fields an engine depends on; `updatedAt` changes with its configs. */
export interface ServiceState {
  id: number;
  name: string;
  type: string;
  configs: Record<string, string>;
  isEnabled: boolean;
  policyVersion: number;
  policyUpdateTime: Date | null;
  updatedAt: Date;
  defUpdatedAt: Date;
}

/** Everything one engine is built from, read in one snapshot. */
export interface ServiceSnapshot {
  service: ServiceState;
  def: RangerServiceDef;
  /** Every policy of the service, as Ranger presents it (disabled ones included, as Ranger does). */
  policies: RangerPolicy[];
}

/** The service named `name` with its def's update time, or undefined. */
export async function readServiceState(db: Queryable, name: string): Promise<ServiceState | undefined> {
  const row = await db
    .selectFrom("services as s")
    .innerJoin("service_defs as d", "d.name", "s.type")
    .select([
      "s.id",
      "s.name",
      "s.type",
      "s.configs",
      "s.is_enabled",
      "s.policy_version",
      "s.policy_update_time",
      "s.updated_at",
      "d.updated_at as def_updated_at",
    ])
    .where("s.name", "=", name)
    .executeTakeFirst();
  if (!row) return undefined;
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
  };
}

/**
 * Reads a consistent snapshot of a service for a full build: in one transaction (REPEATABLE
 * READ on PostgreSQL), so the policy version and the policies agree even while writers commit.
 */
export async function readServiceSnapshot(db: Db, name: string): Promise<ServiceSnapshot | undefined> {
  return db.transaction(async (tx) => {
    await sql`set transaction isolation level repeatable read`.execute(tx);
    const service = await readServiceState(tx, name);
    if (!service) return undefined;
    const def = await tx
      .selectFrom("service_defs")
      .select(["id", "def"])
      .where("name", "=", service.type)
      .executeTakeFirstOrThrow();
    const rows = await tx
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
      .orderBy("id")
      .execute();
    const policies = rows.map((r) =>
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
    return { service, def: { ...(def.def as unknown as RangerServiceDef), id: def.id }, policies };
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
