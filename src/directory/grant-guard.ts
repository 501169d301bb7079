import { sql } from "kysely";
import type { AuditContext } from "../audit/audit.service.ts";
import { Forbidden } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";

/**
 * Refuses to grant more than the caller holds. Binding a role, or putting a role into a composite,
 * can hand out built-in admin-plane roles (directly or through composites); the caller must already
 * hold every permission those built-in roles carry. Without this a `directory-admin` could bind
 * `gatehouse-admin` to itself or to a group it belongs to (through any API: native, Puppet, Aria).
 *
 * @throws FORBIDDEN naming the field, the built-in roles and the permissions the caller lacks.
 */
export async function assertMayGrant(
  db: Queryable,
  ctx: AuditContext,
  roleIds: string[],
  field: string,
): Promise<void> {
  const held = ctx.actor.permissions;
  if (held.has("*") || roleIds.length === 0) return;
  const { rows } = await sql<{ name: string; permissions: string[] }>`
    with recursive reach(id) as (
      select unnest(${roleIds}::uuid[])
      union
      select rc.child_role_id from role_composites rc join reach on rc.role_id = reach.id
    )
    select r.name, r.permissions from reach join roles r on r.id = reach.id where r.builtin`.execute(db);
  const beyond = rows.filter((role) => role.permissions.some((p) => !held.has(p)));
  if (beyond.length === 0) return;
  const names = beyond.map((r) => `\`${r.name}\``).join(", ");
  const lacking = [...new Set(beyond.flatMap((r) => r.permissions.filter((p) => !held.has(p))))].join(", ");
  const message = `${field}: granting built-in role ${names} needs its permissions; \`${ctx.actor.name}\` lacks ${lacking}`;
  throw Forbidden(message, { details: [{ field, rule: "grantWithinOwnPermissions", message }] });
}
