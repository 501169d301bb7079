import { randomUUID } from "node:crypto";
import type { Db } from "../../src/storage/db.ts";

/** A random name unique to this run, so tests never collide and never truncate tables. */
export function uniqueName(prefix = "t"): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** Inserts an organisation directly (for tests that need a fresh tenant). */
export async function buildOrg(db: Db, overrides: { name?: string } = {}) {
  return db.kysely
    .insertInto("orgs")
    .values({ name: overrides.name ?? uniqueName("org"), title: "Test org" })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Inserts a user directly; `orgId` defaults to the `default` organisation. */
export async function buildUser(
  db: Db,
  overrides: { orgId?: string; username?: string; status?: "active" | "disabled" } = {},
) {
  const orgId =
    overrides.orgId ??
    (await db.kysely.selectFrom("orgs").where("name", "=", "default").select("id").executeTakeFirstOrThrow()).id;
  return db.kysely
    .insertInto("users")
    .values({
      org_id: orgId,
      username: overrides.username ?? uniqueName("user"),
      email: null,
      display_name: null,
      external_id: null,
      ...(overrides.status ? { status: overrides.status } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Binds a built-in role to a user at organisation scope. */
export async function bindBuiltinRole(db: Db, userId: string, orgId: string, role: string): Promise<void> {
  const row = await db.kysely
    .selectFrom("roles")
    .where("name", "=", role)
    .where("builtin", "=", true)
    .select("id")
    .executeTakeFirstOrThrow();
  await db.kysely
    .insertInto("role_bindings")
    .values({ org_id: orgId, role_id: row.id, principal_type: "user", principal_id: userId })
    .execute();
}

/**
 * A directory user of the default organisation holding `directory-admin`: the administrator
 * Ranger's execUser rule admits for role SQL. Returns its username.
 */
export async function buildDirectoryAdmin(db: Db): Promise<string> {
  const user = await buildUser(db);
  await bindBuiltinRole(db, user.id, user.org_id, "directory-admin");
  return user.username;
}
