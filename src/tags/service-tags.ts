import type {
  RangerPolicyResources,
  RangerServiceResource,
  RangerTag,
  RangerTagDef,
  RangerValiditySchedule,
  ServiceTags,
} from "../engine/index.ts";
import type { Queryable } from "../storage/db.ts";

/** The service fields a `ServiceTags` document carries. */
export interface ServiceTagsHeader {
  id: number;
  name: string;
  tagVersion: number;
  tagUpdateTime: Date | null;
}

/** Ranger's `ServiceTags` with its update time (epoch ms), as served to plugins. */
export type ServiceTagsDocument = ServiceTags & { tagUpdateTime: number | null };

/** A stored tag: Ranger's `RangerTag` with its id, guid and attributes always present. */
export type StoredTag = RangerTag & { id: number; guid: string; attributes: Record<string, string> };

/** A `tags` row as Ranger's `RangerTag` (empty validity periods omitted, as Ranger's JSON does). */
export function presentTag(row: {
  id: number;
  guid: string;
  type: string;
  attributes: Record<string, string>;
  validity_periods: unknown[];
}): StoredTag {
  const periods = (row.validity_periods ?? []) as RangerValiditySchedule[];
  return {
    id: row.id,
    guid: row.guid,
    type: row.type,
    attributes: row.attributes ?? {},
    ...(periods.length > 0 ? { validityPeriods: periods } : {}),
  };
}

/** A `tag_defs` row as Ranger's `RangerTagDef`. */
export function presentTagDef(row: {
  id: number;
  guid: string;
  name: string;
  attribute_defs: { name: string; type?: string }[];
}): RangerTagDef {
  return { id: row.id, guid: row.guid, name: row.name, attributeDefs: row.attribute_defs ?? [] };
}

/** The definitions of tag types `types` as Ranger's `tagDefinitions` (keyed by definition id). */
export async function readTagDefinitions(
  db: Queryable,
  types: readonly string[],
): Promise<Record<string, RangerTagDef>> {
  const rows =
    types.length === 0
      ? []
      : await db
          .selectFrom("tag_defs")
          .select(["id", "guid", "name", "attribute_defs"])
          .where("name", "in", [...types])
          .orderBy("id")
          .execute();
  return Object.fromEntries(rows.map((d) => [String(d.id), presentTagDef(d)]));
}

/** A `service_resources` row of service `serviceName` as Ranger's `RangerServiceResource`. */
export function presentServiceResource(
  row: {
    id: number;
    guid: string;
    resource_elements: unknown;
    resource_signature: string;
    owner_user: string | null;
  },
  serviceName: string,
): RangerServiceResource {
  return {
    id: row.id,
    guid: row.guid,
    serviceName,
    resourceElements: row.resource_elements as RangerPolicyResources,
    resourceSignature: row.resource_signature,
    ...(row.owner_user ? { ownerUser: row.owner_user } : {}),
  };
}

/**
 * Reads every tagged resource of a service with its tags and their definitions, as Ranger's
 * `ServiceTags` (`resourceToTagIds` keyed by resource id). Callers that need the document to
 * agree with `tagVersion` read both in one REPEATABLE READ transaction.
 */
export async function readServiceTags(db: Queryable, service: ServiceTagsHeader): Promise<ServiceTagsDocument> {
  const resources = await db
    .selectFrom("service_resources")
    .select(["id", "guid", "resource_elements", "resource_signature", "owner_user"])
    .where("service_id", "=", service.id)
    .orderBy("id")
    .execute();
  const mappings = await db
    .selectFrom("resource_tags as rt")
    .innerJoin("service_resources as r", "r.id", "rt.resource_id")
    .select(["rt.resource_id", "rt.tag_id"])
    .where("r.service_id", "=", service.id)
    .orderBy("rt.resource_id")
    .orderBy("rt.tag_id")
    .execute();
  // The service's tags by a semi-join, not an id list: 100,000 ids would exceed PostgreSQL's
  // 65,535 parameters of one statement.
  const tagRows =
    mappings.length === 0
      ? []
      : await db
          .selectFrom("tags")
          .select(["id", "guid", "type", "attributes", "validity_periods"])
          .where("id", "in", (eb) =>
            eb
              .selectFrom("resource_tags as rt")
              .innerJoin("service_resources as r", "r.id", "rt.resource_id")
              .select("rt.tag_id")
              .where("r.service_id", "=", service.id),
          )
          .orderBy("id")
          .execute();
  const tagDefinitions = await readTagDefinitions(db, [...new Set(tagRows.map((t) => t.type))]);

  const serviceResources = resources.map((r) => presentServiceResource(r, service.name));
  const resourceToTagIds: Record<string, number[]> = {};
  for (const m of mappings) {
    const key = String(m.resource_id);
    resourceToTagIds[key] = [...(resourceToTagIds[key] ?? []), m.tag_id];
  }
  return {
    op: "add_or_update",
    tagModel: "shared",
    serviceName: service.name,
    tagVersion: service.tagVersion,
    tagUpdateTime: service.tagUpdateTime?.getTime() ?? null,
    tagDefinitions,
    tags: Object.fromEntries(tagRows.map((t) => [String(t.id), presentTag(t)])),
    serviceResources,
    resourceToTagIds,
    isDelta: false,
  };
}
