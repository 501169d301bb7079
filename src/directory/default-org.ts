import type { Queryable } from "../storage/db.ts";

/** The id of the `default` organisation every installation starts with (migration 0001). */
export async function defaultOrgId(db: Queryable): Promise<string> {
  const org = await db.selectFrom("orgs").where("name", "=", "default").select("id").executeTakeFirstOrThrow();
  return org.id;
}
