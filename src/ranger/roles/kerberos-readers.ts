import { sql } from "kysely";
import type { Actor } from "../../auth/actor.ts";
import { Forbidden, fieldError } from "../../errors.ts";
import type { Queryable } from "../../storage/db.ts";
import { assertServicePluginAllowed, type PluginAllowList } from "../plugin-download/plugin-auth.ts";

/**
 * The allow lists that admit a Kerberos plugin to read a user's roles: a principal allowed to
 * download a service's roles (`policy.download.auth.users`, whose RangerRoles already show every
 * role's members) or to grant and revoke for it.
 */
const ROLE_READERS: readonly PluginAllowList[] = ["policy.download.auth.users", "policy.grantrevoke.auth.users"];

/**
 * Who may ask a user's roles (Ranger's `getUserRoles`, which a plugin calls for `SHOW CURRENT
 * ROLES`). Ranger checks nothing there but authentication, and its plugin names no service on the
 * call, so requiring one (as the other role calls do) would refuse every Kerberised plugin. Native
 * credentials are judged by their ability alone. A Kerberos principal, which Gatehouse admits only
 * as a plugin, must be listed in `ROLE_READERS` of the service it names, or, naming none, of some
 * service: Gatehouse does not open the directory to any principal of the realm, as Ranger does to
 * any logged-in user.
 *
 * @throws FORBIDDEN naming `field` when a Kerberos principal is listed by no service (or not by the one named).
 */
export async function assertRoleReaderPlugin(
  db: Queryable,
  actor: Actor,
  serviceName: string | undefined,
  field: string,
): Promise<void> {
  if (actor.type !== "kerberos") return;
  if (serviceName !== undefined) {
    await assertServicePluginAllowed(db, actor, serviceName, field, ROLE_READERS);
    return;
  }
  // The lists are comma-separated short names compared without case, `*` admitting everyone
  // (as `assertPluginAllowed` reads them), split here so one statement answers for every service.
  const listed = await sql<{ found: number }>`
    select 1 as found from services s,
      unnest(string_to_array(concat_ws(',', ${sql.join(
        ROLE_READERS.map((list) => sql`s.configs ->> ${list}`),
      )}), ',')) as listed(name)
    where lower(trim(listed.name)) in (lower(${actor.name}), '*')
    limit 1`.execute(db);
  if (listed.rows.length > 0) return;
  throw fieldError(
    Forbidden,
    field,
    "listedPlugin",
    `\`${actor.name}\` (Kerberos ${actor.id}) is in no service's ${ROLE_READERS.join(" or ")}; a Kerberos caller must be a service's plugin`,
  );
}
