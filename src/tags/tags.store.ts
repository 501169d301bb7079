import type { RangerPolicyResources, RangerServiceDef } from "../engine/index.ts";
import { resourceSignature } from "../policies/signature.ts";
import type { Queryable } from "../storage/db.ts";
import { presentTag, type StoredTag } from "./service-tags.ts";
import type { TagTypeInfo } from "./validate-tags.ts";

/** A tagged resource with its tags, as the native API answers it. */
export interface TaggedResourceView {
  id: number;
  guid: string;
  serviceName: string;
  /** Stored normalised: every element has its values and flags. */
  resourceElements: Record<string, { values: string[]; isExcludes?: boolean; isRecursive?: boolean }>;
  resourceSignature: string;
  ownerUser: string | null;
  tags: StoredTag[];
  createTime: number;
  updateTime: number;
}

/** The service a tag write targets, with its definition. */
export interface TagTarget {
  id: number;
  name: string;
  type: string;
  def: RangerServiceDef;
}

/** A `service_resources` row as the writers need it. */
export interface ResourceRow {
  id: number;
  guid: string;
  service_id: number;
  resource_elements: Record<string, unknown>;
  resource_signature: string;
  owner_user: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Ranger's resource signature of a service resource: the policy signature of its elements (type
 * 0, no schedules, no conditions), so a resource and an access policy naming the same elements
 * sign alike. Unique per service.
 */
export function serviceResourceSignature(elements: RangerPolicyResources): string {
  return resourceSignature({ resources: elements }, "");
}

/** A service and its def by name, or undefined. */
export async function findTagTarget(db: Queryable, name: string): Promise<TagTarget | undefined> {
  const row = await db
    .selectFrom("services as s")
    .innerJoin("service_defs as d", "d.name", "s.type")
    .select(["s.id", "s.name", "s.type", "d.id as def_id", "d.def"])
    .where("s.name", "=", name)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    def: { ...(row.def as unknown as RangerServiceDef), id: row.def_id },
  };
}

/** Tag types by name (only those that exist). */
export async function findTagTypes(db: Queryable, names: string[]): Promise<Map<string, TagTypeInfo>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .selectFrom("tag_defs")
    .select(["name", "attribute_defs"])
    .where("name", "in", [...new Set(names)])
    .execute();
  return new Map(rows.map((r) => [r.name, { name: r.name, attributeDefs: r.attribute_defs ?? [] }]));
}

/**
 * Locks the services' rows in id order in the caller's transaction, before a writer changes their
 * resource tags; `commitTagChanges` bumps their tag version (Ranger `tagVersion`) and logs the
 * change at the end. Writers lock before they change anything, always in id order, so two writers
 * never deadlock on each other.
 */
export async function lockServices(db: Queryable, serviceIds: Iterable<number>): Promise<void> {
  const ids = [...new Set(serviceIds)].sort((a, b) => a - b);
  if (ids.length === 0) return;
  await db.selectFrom("services").select("id").where("id", "in", ids).orderBy("id").forUpdate().execute();
}

/** Deletes those of the tags that no resource carries any more: a tag lives with its resources. */
export async function deleteOrphanTags(db: Queryable, tagIds: Iterable<number>): Promise<void> {
  const ids = [...new Set(tagIds)];
  for (let i = 0; i < ids.length; i += 5000) {
    await db
      .deleteFrom("tags")
      .where("id", "in", ids.slice(i, i + 5000))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom("resource_tags as rt").select("rt.tag_id").whereRef("rt.tag_id", "=", "tags.id"))),
      )
      .execute();
  }
}

/** One resource of a service by id, or undefined. */
export async function findResource(db: Queryable, serviceId: number, id: number): Promise<ResourceRow | undefined> {
  return (await db
    .selectFrom("service_resources")
    .selectAll()
    .where("service_id", "=", serviceId)
    .where("id", "=", id)
    .executeTakeFirst()) as ResourceRow | undefined;
}

/** One resource of a service by signature, or undefined. */
export async function findResourceBySignature(
  db: Queryable,
  serviceId: number,
  signature: string,
): Promise<ResourceRow | undefined> {
  return (await db
    .selectFrom("service_resources")
    .selectAll()
    .where("service_id", "=", serviceId)
    .where("resource_signature", "=", signature)
    .executeTakeFirst()) as ResourceRow | undefined;
}

/** The tags of resources, by resource id, in tag id order. */
export async function tagsOfResources(db: Queryable, resourceIds: number[]): Promise<Map<number, StoredTag[]>> {
  const out = new Map<number, StoredTag[]>();
  if (resourceIds.length === 0) return out;
  const rows = await db
    .selectFrom("resource_tags as rt")
    .innerJoin("tags as t", "t.id", "rt.tag_id")
    .select(["rt.resource_id", "t.id", "t.guid", "t.type", "t.attributes", "t.validity_periods"])
    .where("rt.resource_id", "in", resourceIds)
    .orderBy("rt.resource_id")
    .orderBy("t.id")
    .execute();
  for (const r of rows) {
    const list = out.get(r.resource_id) ?? [];
    if (list.length === 0) out.set(r.resource_id, list);
    list.push(presentTag(r));
  }
  return out;
}

/** Presents resources with their tags. */
export async function presentResources(
  db: Queryable,
  serviceName: string,
  rows: ResourceRow[],
): Promise<TaggedResourceView[]> {
  const tags = await tagsOfResources(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({
    id: r.id,
    guid: r.guid,
    serviceName,
    resourceElements: r.resource_elements as unknown as TaggedResourceView["resourceElements"],
    resourceSignature: r.resource_signature,
    ownerUser: r.owner_user,
    tags: tags.get(r.id) ?? [],
    createTime: r.created_at.getTime(),
    updateTime: r.updated_at.getTime(),
  }));
}

/** Filters of the tagged-resource list. */
export interface ResourceFilter {
  /** Only resources carrying a tag of this type. */
  tagType?: string;
  /** Only the resource with this signature. */
  signature?: string;
}

/** One page of a service's tagged resources in id order after `afterId`, and the total matching. */
export async function listResources(
  db: Queryable,
  serviceId: number,
  filter: ResourceFilter,
  afterId: number,
  limit: number,
): Promise<{ rows: ResourceRow[]; total: number }> {
  let q = db.selectFrom("service_resources as r").where("r.service_id", "=", serviceId);
  if (filter.signature !== undefined) q = q.where("r.resource_signature", "=", filter.signature);
  if (filter.tagType !== undefined) {
    const type = filter.tagType;
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom("resource_tags as rt")
          .innerJoin("tags as t", "t.id", "rt.tag_id")
          .select("rt.tag_id")
          .whereRef("rt.resource_id", "=", "r.id")
          .where("t.type", "=", type),
      ),
    );
  }
  const rows = (await q
    .selectAll("r")
    .where("r.id", ">", afterId)
    .orderBy("r.id")
    .limit(limit)
    .execute()) as ResourceRow[];
  const total = await q.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow();
  return { rows, total: Number(total.n) };
}
