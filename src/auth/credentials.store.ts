import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";

/**
 * The built-in role names and permissions a principal holds at organisation scope. For a user this
 * counts bindings of the user and of every group it belongs to, directly or through the group
 * hierarchy (the closure table), and built-in roles reached through composite roles; service
 * accounts only have direct bindings.
 */
export async function builtinRolesOf(
  db: Queryable,
  principalType: "user" | "service_account",
  principalId: string,
): Promise<{ name: string; permissions: string[] }[]> {
  const groups =
    principalType === "user"
      ? sql`union
            select 'group', c.ancestor_id from group_members m
            join group_closure c on c.descendant_id = m.group_id where m.user_id = ${principalId}::uuid`
      : sql``;
  const rows = await sql<{ name: string; permissions: string[] }>`
    with recursive principals(type, id) as (
      select ${principalType}::text, ${principalId}::uuid
      ${groups}
    ),
    held(role_id) as (
      select b.role_id from role_bindings b
      join principals p on b.principal_type = p.type and b.principal_id = p.id
      where b.scope_type = 'org'
      union
      select rc.child_role_id from held h join role_composites rc on rc.role_id = h.role_id
    )
    select r.name, r.permissions from held h join roles r on r.id = h.role_id
    where r.builtin order by r.name`.execute(db);
  return rows.rows;
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
