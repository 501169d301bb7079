import { sql } from "kysely";
import type { Queryable } from "../../storage/db.ts";

/**
 * Whether a user administers a role, by Ranger's rule (`RoleREST#ensureRoleAccess`), read from
 * the directory in one statement:
 * - the user is bound to the role as an administrator (a user member with `isAdmin`);
 * - a group the user belongs to is bound to it as an administrator (a group member with
 *   `isAdmin`); as everywhere in the directory, a member of a subgroup belongs to the group;
 * - the user, or a group of the user, is bound (administrator or not) to a member role that has
 *   `isAdmin`. Ranger walks member roles transitively and takes each one's own flag, on the role
 *   whose member it is: with `R.roles = [M]` and `M.roles = [N (isAdmin)]`, N's direct users
 *   administer R whatever M's flag. Gatehouse's member role of R is a role bundling R (a
 *   composite link, whose `is_admin` is that flag), so the walk goes up the composite links.
 *
 * Ranger reads the user's groups from the request's `grantorGroups` when the plugin sends them;
 * Gatehouse reads them from the directory, so a request body cannot make anyone an administrator.
 */
export async function administersRole(db: Queryable, userId: string, roleId: string): Promise<boolean> {
  const { rows } = await sql<{ found: number }>`
    with recursive
    my_groups(id) as (
      select c.ancestor_id from group_members m join group_closure c on c.descendant_id = m.group_id
      where m.user_id = ${userId}::uuid
    ),
    member_roles(role_id, is_admin) as (
      select rc.role_id, rc.is_admin from role_composites rc where rc.child_role_id = ${roleId}::uuid
      union
      select rc.role_id, rc.is_admin from role_composites rc join member_roles mr on rc.child_role_id = mr.role_id
    ),
    -- The role itself admits its administrator members; an admin member role admits all its members.
    admitting(role_id, any_member) as (
      select ${roleId}::uuid, false
      union all
      select role_id, true from member_roles where is_admin
    )
    select 1 as found from admitting a join role_bindings b on b.role_id = a.role_id
    where (a.any_member or b.is_admin)
      and ((b.principal_type = 'user' and b.principal_id = ${userId}::uuid)
        or (b.principal_type = 'group' and b.principal_id in (select id from my_groups)))
    limit 1`.execute(db);
  return rows.length > 0;
}
