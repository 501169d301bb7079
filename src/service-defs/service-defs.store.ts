import { sql } from "kysely";
import type { RangerServiceDef } from "../engine/types.ts";
import { normaliseName } from "../http/names.ts";
import type { Queryable } from "../storage/db.ts";

/** A service (Ranger `RangerService`) with the service-def it is an instance of. */
export interface Service {
  id: number;
  name: string;
  type: string;
  displayName: string;
  description: string;
  configs: Record<string, string>;
  isEnabled: boolean;
  policyVersion: number;
  policyUpdateTime: Date | null;
  /** The linked tag service (Ranger `tagService`), whose tag policies apply to this service. */
  tagServiceId: number | null;
  /** Its name; null when none is linked (or when the query that loaded the row did not join it). */
  tagService: string | null;
  /** Bumped by every change to the service's resource tags (Ranger `tagVersion`). */
  tagVersion: number;
  tagUpdateTime: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A service together with its definition: what policy validation needs. */
export interface ServiceWithDef {
  service: Service;
  def: RangerServiceDef;
}

type ServiceRow = {
  id: number;
  name: string;
  type: string;
  display_name: string;
  description: string;
  configs: Record<string, string>;
  is_enabled: boolean;
  policy_version: number;
  policy_update_time: Date | null;
  tag_service_id: number | null;
  tag_version: number;
  tag_update_time: Date | null;
  tag_service_name?: string | null;
  created_at: Date;
  updated_at: Date;
};

/** Maps a `services` row to the domain type. */
export function toService(row: ServiceRow): Service {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    displayName: row.display_name,
    description: row.description,
    configs: row.configs ?? {},
    isEnabled: row.is_enabled,
    policyVersion: Number(row.policy_version),
    policyUpdateTime: row.policy_update_time,
    tagServiceId: row.tag_service_id ?? null,
    tagService: row.tag_service_name ?? null,
    tagVersion: Number(row.tag_version ?? 0),
    tagUpdateTime: row.tag_update_time ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A stored service-def with Gatehouse's bookkeeping. */
export interface StoredServiceDef {
  id: number;
  name: string;
  builtin: boolean;
  def: RangerServiceDef;
  createdAt: Date;
  updatedAt: Date;
}

/** Lists service-defs in id order. */
export async function listServiceDefs(db: Queryable): Promise<StoredServiceDef[]> {
  const rows = await db.selectFrom("service_defs").selectAll().orderBy("id").execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    builtin: r.builtin,
    def: { ...(r.def as unknown as RangerServiceDef), id: r.id },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
}

/** One service-def by name, or undefined. */
export async function findServiceDef(db: Queryable, name: string): Promise<StoredServiceDef | undefined> {
  const r = await db.selectFrom("service_defs").selectAll().where("name", "=", name).executeTakeFirst();
  return r
    ? {
        id: r.id,
        name: r.name,
        builtin: r.builtin,
        def: { ...(r.def as unknown as RangerServiceDef), id: r.id },
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      }
    : undefined;
}

/** One service-def by Ranger's id, or undefined. */
export async function findServiceDefById(db: Queryable, id: number): Promise<StoredServiceDef | undefined> {
  const r = await db.selectFrom("service_defs").select("name").where("id", "=", id).executeTakeFirst();
  return r ? findServiceDef(db, r.name) : undefined;
}

/** One service by name, with its def, in one query (the hot path of every policy write). */
export async function findServiceWithDef(db: Queryable, name: string): Promise<ServiceWithDef | undefined> {
  const row = await db
    .selectFrom("services as s")
    .innerJoin("service_defs as d", "d.name", "s.type")
    .selectAll("s")
    .select(["d.def as def", "d.id as def_id", "d.updated_at as def_updated_at"])
    .where("s.name", "=", normaliseName(name))
    .executeTakeFirst();
  if (!row) return undefined;
  return { service: toService(row), def: sharedDef(row.def_id, row.def_updated_at, row.def) };
}

const defs = new Map<number, { updatedAt: number; def: RangerServiceDef }>();

/**
 * One object per stored service-def version, so what is derived from a def (prepared
 * hierarchies, validators) is computed once per process rather than once per request.
 */
function sharedDef(id: number, updatedAt: Date, json: unknown): RangerServiceDef {
  const cached = defs.get(id);
  if (cached && cached.updatedAt === updatedAt.getTime()) return cached.def;
  const def = { ...(json as RangerServiceDef), id };
  defs.set(id, { updatedAt: updatedAt.getTime(), def });
  return def;
}

/** Lists services, optionally of one type, with the names of their tag services. */
export async function listServices(db: Queryable, type?: string): Promise<Service[]> {
  let q = db
    .selectFrom("services as s")
    .leftJoin("services as t", "t.id", "s.tag_service_id")
    .selectAll("s")
    .select("t.name as tag_service_name")
    .orderBy("s.id");
  if (type) q = q.where("s.type", "=", type);
  return (await q.execute()).map(toService);
}

/** One service by name with the name of its tag service, or undefined. */
export async function findService(db: Queryable, name: string): Promise<Service | undefined> {
  return findServiceWhere(db, "s.name", normaliseName(name));
}

/** The service with database id `id` (Ranger's numeric service id), if any. */
export async function findServiceById(db: Queryable, id: number): Promise<Service | undefined> {
  return findServiceWhere(db, "s.id", id);
}

async function findServiceWhere(db: Queryable, column: "s.name" | "s.id", value: string | number) {
  const row = await db
    .selectFrom("services as s")
    .leftJoin("services as t", "t.id", "s.tag_service_id")
    .selectAll("s")
    .select("t.name as tag_service_name")
    .where(column, "=", value)
    .executeTakeFirst();
  return row ? toService(row) : undefined;
}

/**
 * Bumps the service's policy version by `count` and returns the new version. The row lock this
 * takes serialises policy writers of one service, so deltas get gap-free, ordered versions.
 */
export async function bumpPolicyVersion(db: Queryable, serviceId: number, count: number): Promise<number> {
  const row = await db
    .updateTable("services")
    .set({ policy_version: sql`policy_version + ${count}`, policy_update_time: sql`now()` })
    .where("id", "=", serviceId)
    .returning("policy_version")
    .executeTakeFirstOrThrow();
  return Number(row.policy_version);
}
