import type { Queryable } from "../storage/db.ts";

/** The built-in role names and permissions bound to a principal at organisation scope. */
export async function builtinRolesOf(
  db: Queryable,
  principalType: "user" | "service_account",
  principalId: string,
): Promise<{ name: string; permissions: string[] }[]> {
  return db
    .selectFrom("role_bindings as b")
    .innerJoin("roles as r", "r.id", "b.role_id")
    .where("b.principal_type", "=", principalType)
    .where("b.principal_id", "=", principalId)
    .where("r.builtin", "=", true)
    .select(["r.name", "r.permissions"])
    .execute();
}

/** Permissions of built-in roles by name (for service accounts and token role mapping). */
export async function permissionsOfRoles(db: Queryable, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom("roles")
    .where("builtin", "=", true)
    .where("name", "in", names)
    .select("permissions")
    .execute();
  return rows.flatMap((row) => row.permissions);
}
