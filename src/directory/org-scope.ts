import type { Actor } from "../auth/actor.ts";
import { Forbidden } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";
import { defaultOrgId } from "./default-org.ts";

/**
 * The organisation a request works in: the one it names, else the caller's own, else `default`.
 * Credentials that belong to one organisation (users, service accounts) never reach into another:
 * only the general PSK and tokens, which span organisations, may name any.
 */
export async function resolveOrgId(db: Queryable, actor: Actor, requested: string | undefined): Promise<string> {
  if (requested) {
    assertSameOrg(actor, requested);
    return requested;
  }
  if (actor.orgId) return actor.orgId;
  // The default organisation never changes id (it cannot be renamed or deleted through the API).
  let id = defaultIds.get(db);
  if (!id) {
    id = await defaultOrgId(db);
    defaultIds.set(db, id);
  }
  return id;
}

const defaultIds = new WeakMap<Queryable, string>();

/** Throws FORBIDDEN when an organisation-bound caller touches another organisation's resource. */
export function assertSameOrg(actor: Actor, orgId: string): void {
  if (actor.orgId && actor.orgId !== orgId) {
    throw Forbidden(`not allowed: \`${actor.name}\` belongs to another organisation than \`${orgId}\``);
  }
}
