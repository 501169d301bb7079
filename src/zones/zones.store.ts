import { sql } from "kysely";
import type { SecurityZoneInfo } from "../engine/index.ts";
import { normaliseName } from "../http/names.ts";
import type { Queryable } from "../storage/db.ts";

/** Resource name → values: one resource a zone claims in a service (Ranger's zone resource form). */
export type ZoneResource = Record<string, string[]>;

/** A zone as the native API answers it (Ranger `RangerSecurityZone`, times in epoch ms). */
export interface ZoneView {
  id: number;
  guid: string;
  name: string;
  description: string;
  /** Data services by name, with the resources the zone claims in each. */
  services: Record<string, { resources: ZoneResource[] }>;
  /** Tag services whose zone tag policies apply inside the zone. */
  tagServices: string[];
  adminUsers: string[];
  adminUserGroups: string[];
  adminRoles: string[];
  auditUsers: string[];
  auditUserGroups: string[];
  auditRoles: string[];
  createdBy: string | null;
  updatedBy: string | null;
  createTime: number;
  updateTime: number;
}

/** The `security_zones` columns a view is made of. */
const ZONE_COLUMNS = [
  "id",
  "guid",
  "name",
  "description",
  "admin_users",
  "admin_user_groups",
  "admin_roles",
  "audit_users",
  "audit_user_groups",
  "audit_roles",
  "created_by",
  "updated_by",
  "created_at",
  "updated_at",
] as const;

/** The named zones (ids in order) with their services, as answered; missing ids are skipped. */
export async function presentZones(db: Queryable, ids: number[]): Promise<ZoneView[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom("security_zones").select(ZONE_COLUMNS).where("id", "in", ids).execute();
  const members = await db
    .selectFrom("security_zone_services as z")
    .innerJoin("services as s", "s.id", "z.service_id")
    .select(["z.zone_id", "z.resources", "s.name", "s.type"])
    .where("z.zone_id", "in", ids)
    .orderBy("s.name")
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const r = byId.get(id);
    if (!r) return [];
    const services: ZoneView["services"] = {};
    const tagServices: string[] = [];
    for (const m of members) {
      if (m.zone_id !== id) continue;
      if (m.type === "tag") tagServices.push(m.name);
      else services[m.name] = { resources: m.resources as ZoneResource[] };
    }
    return [
      {
        id: r.id,
        guid: r.guid,
        name: r.name,
        description: r.description,
        services,
        tagServices,
        adminUsers: r.admin_users,
        adminUserGroups: r.admin_user_groups,
        adminRoles: r.admin_roles,
        auditUsers: r.audit_users,
        auditUserGroups: r.audit_user_groups,
        auditRoles: r.audit_roles,
        createdBy: r.created_by,
        updatedBy: r.updated_by,
        createTime: r.created_at.getTime(),
        updateTime: r.updated_at.getTime(),
      },
    ];
  });
}

/** The zone called `name` (ignoring case), optionally locked for update; undefined when absent. */
export async function findZoneId(db: Queryable, name: string, lock = false): Promise<number | undefined> {
  let q = db
    .selectFrom("security_zones")
    .select("id")
    .where(sql<string>`lower(name)`, "=", normaliseName(name).toLowerCase());
  if (lock) q = q.forUpdate();
  return (await q.executeTakeFirst())?.id;
}

/** One page of zones in id order after `afterId`, and the total. */
export async function listZoneIds(
  db: Queryable,
  afterId: number,
  limit: number,
): Promise<{ ids: number[]; total: number }> {
  const rows = await db
    .selectFrom("security_zones")
    .select("id")
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(limit)
    .execute();
  const count = await db
    .selectFrom("security_zones")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  return { ids: rows.map((r) => r.id), total: Number(count.n) };
}

/**
 * Which of `names` are zones that include the service (as a data service or a tag service),
 * spelled exactly as stored. The zone rows are share-locked until the caller's transaction ends,
 * so a zone cannot be deleted, or the service removed from it, under a policy being written.
 */
export async function zonesIncludingService(db: Queryable, serviceId: number, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await db
    .selectFrom("security_zones as z")
    .innerJoin("security_zone_services as m", "m.zone_id", "z.id")
    .select("z.name")
    .where("m.service_id", "=", serviceId)
    .where("z.name", "in", names)
    .forShare("z")
    .execute();
  return new Set(rows.map((r) => r.name));
}

/** Zones whose names equal one of `names` ignoring case (to suggest the exact spelling). */
export async function zoneNamesLike(db: Queryable, names: string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .selectFrom("security_zones")
    .select("name")
    .where(
      sql<string>`lower(name)`,
      "in",
      names.map((n) => n.toLowerCase()),
    )
    .execute();
  return new Map(rows.map((r) => [r.name.toLowerCase(), r.name]));
}

/** The resources other zones claim in a service (the overlap check compares against them). */
export async function otherZoneClaims(
  db: Queryable,
  serviceId: number,
  exceptZoneId: number | null,
): Promise<{ zoneName: string; resources: ZoneResource[] }[]> {
  let q = db
    .selectFrom("security_zone_services as m")
    .innerJoin("security_zones as z", "z.id", "m.zone_id")
    .select(["z.name", "m.resources"])
    .where("m.service_id", "=", serviceId);
  if (exceptZoneId !== null) q = q.where("m.zone_id", "<>", exceptZoneId);
  const rows = await q.orderBy("z.id").execute();
  return rows.map((r) => ({ zoneName: r.name, resources: r.resources as ZoneResource[] }));
}

/**
 * The zones a service takes part in, in the form of `ServicePolicies.securityZones` without
 * policies: each zone's resources in the service, and `containsAssociatedTagService` when the
 * zone also includes the service's linked tag service (then the zone's tag policies apply in it,
 * as Ranger's `patchAssociatedTagServiceInSecurityZoneInfos` sets it).
 */
export async function securityZonesOf(
  db: Queryable,
  serviceId: number,
  tagServiceId: number | null,
): Promise<Record<string, SecurityZoneInfo>> {
  const rows = await db
    .selectFrom("security_zone_services as m")
    .innerJoin("security_zones as z", "z.id", "m.zone_id")
    .select([
      "z.name",
      "m.resources",
      (eb) =>
        eb
          .exists(
            eb
              .selectFrom("security_zone_services as t")
              .select("t.zone_id")
              .whereRef("t.zone_id", "=", "m.zone_id")
              .where("t.service_id", "=", tagServiceId ?? -1),
          )
          .as("has_tag_service"),
    ])
    .where("m.service_id", "=", serviceId)
    .orderBy("z.id")
    .execute();
  const out: Record<string, SecurityZoneInfo> = {};
  for (const r of rows) {
    out[r.name] = {
      zoneName: r.name,
      resources: r.resources as ZoneResource[],
      containsAssociatedTagService: r.has_tag_service === true,
    };
  }
  return out;
}

/** How many policies of `serviceIds` (all services when null) belong to the zone called `name`. */
export async function countZonePolicies(db: Queryable, name: string, serviceIds: number[] | null): Promise<number> {
  if (serviceIds !== null && serviceIds.length === 0) return 0;
  let q = db
    .selectFrom("policies")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("zone_name", "=", name);
  if (serviceIds !== null) q = q.where("service_id", "in", serviceIds);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Bumps the policy version of services whose zones changed, without a delta (so engines and plugins reload). */
export async function bumpZoneServices(db: Queryable, serviceIds: Iterable<number>): Promise<void> {
  const ids = [...new Set(serviceIds)].sort((a, b) => a - b);
  if (ids.length === 0) return;
  await db
    .updateTable("services")
    .set({ policy_version: sql`policy_version + 1`, policy_update_time: sql`now()` })
    .where("id", "in", ids)
    .execute();
}
