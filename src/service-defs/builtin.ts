import { readFileSync } from "node:fs";
import type { RangerServiceDef } from "../engine/types.ts";

function load(name: string): RangerServiceDef {
  return JSON.parse(readFileSync(new URL(`./${name}.json`, import.meta.url), "utf8")) as RangerServiceDef;
}

/**
 * Ranger's tag service-def: one `tag` resource, and the access types of every component prefixed
 * with its name (`trino:select`), with implied grants prefixed too. Ranger admin derives these the
 * same way when it serves the tag def, so tag policies can grant any component's access.
 */
function tagServiceDef(components: readonly RangerServiceDef[]): RangerServiceDef {
  const def = load("tag");
  def.accessTypes = components.flatMap((c) =>
    (c.accessTypes ?? []).map((a) => ({
      ...a,
      itemId: (c.id ?? 0) * 1000 + (a.itemId ?? 0),
      name: `${c.name}:${a.name}`,
      ...(a.impliedGrants ? { impliedGrants: a.impliedGrants.map((g) => `${c.name}:${g}`) } : {}),
    })),
  );
  return def;
}

const COMPONENTS = [load("trino"), load("hive"), load("hdfs")];

/**
 * The service-defs Gatehouse ships, in Ranger's JSON format (written from ranger-semantics §1.4 and
 * compared with Ranger's own files in a test). They are upserted at every start, so a release can
 * correct them without a migration; custom defs are added with `POST /v1/service-defs`.
 */
export const BUILTIN_SERVICE_DEFS: readonly RangerServiceDef[] = [...COMPONENTS, tagServiceDef(COMPONENTS)];

/** Name of the tag service created at start-up; tag-role associations write their policies there. */
export const TAG_SERVICE = "tags";

/** Name of Ranger's tag service-def: services of this type hold tag-based policies. */
export const TAG_SERVICE_DEF = "tag";
