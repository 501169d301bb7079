import type { Actor } from "../../auth/actor.ts";
import { fail } from "../../directory/fail.ts";
import { assertSameOrg } from "../../directory/org-scope.ts";
import { findOrgByName, getOrgRow } from "../../directory/orgs.service.ts";
import { OrgNotFound } from "../../errors.ts";
import type { Queryable } from "../../storage/db.ts";
import type { OrgRow } from "../../storage/schema.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Finds the organisation a Frontier path names, by id or by name as Frontier allows, and keeps
 * organisation-bound credentials inside their own.
 *
 * @throws ORG_NOT_FOUND (→ 404, code 5); FORBIDDEN (→ 403) for another organisation.
 */
export async function orgOf(db: Queryable, actor: Actor, idOrName: string, field = "path.org_id"): Promise<OrgRow> {
  const org = UUID.test(idOrName) ? await getOrgRow(db, idOrName, field) : await findOrgByName(db, idOrName);
  if (!org) throw fail(OrgNotFound, field, "exists", `organisation \`${idOrName}\` not found`);
  assertSameOrg(actor, org.id);
  return org;
}
