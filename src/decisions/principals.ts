import { sql } from "kysely";
import { normaliseName } from "../http/names.ts";
import type { Queryable } from "../storage/db.ts";

// Disabled users (`status`) and disabled groups (`disabled_at`, set when a group left its
// directory: migration 0014) are absent here, so their grants stop at once.

/** A directory user as decisions see it: the Ranger principal names of its memberships. */
export interface Principal {
  userId: string;
  username: string;
  /** Effective group names (direct groups and all their ancestors). */
  groups: string[];
  /** Role names held directly, through a group, or through composite roles. */
  roles: string[];
  /** How each group and role reaches the user, for "what can this user access". */
  viaGroups: Map<string, string>;
}

const MAX_ENTRIES = 100_000;

/**
 * Caches users' effective groups and roles for the decision path, which must not query the
 * database per request. Any directory change (LISTEN/NOTIFY or an in-process write) clears the
 * whole cache: changes are rare next to decisions, and a per-user invalidation would have to
 * follow group hierarchies and composite roles. A lookup that started before a change is not
 * stored (generation check), so a stale read can never outlive the change that made it stale.
 */
export class PrincipalCache {
  readonly #db: Queryable;
  #entries = new Map<string, Principal | null>();
  #generation = 0;

  constructor(db: Queryable) {
    this.#db = db;
  }

  /** Forgets everything; called on every directory change. */
  invalidate(): void {
    this.#generation++;
    this.#entries = new Map();
  }

  /** The cached entry of `username` (null = known unknown, undefined = not cached): no await. */
  peek(username: string): Principal | null | undefined {
    return this.#entries.get(username);
  }

  /** The user named `username` (exact, then case-insensitive), or null when unknown. */
  async byUsername(username: string): Promise<Principal | null> {
    const hit = this.#entries.get(username);
    if (hit !== undefined) return hit;
    const generation = this.#generation;
    const found = await loadPrincipal(this.#db, username, null);
    if (generation === this.#generation) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries = new Map();
      this.#entries.set(username, found);
    }
    return found;
  }

  /** The user with directory id `userId`, or null (not cached: an admin-plane lookup). */
  byId(userId: string): Promise<Principal | null> {
    return loadPrincipal(this.#db, null, userId);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function loadPrincipal(db: Queryable, username: string | null, userId: string | null): Promise<Principal | null> {
  if (userId !== null && !UUID.test(userId)) return null;
  let q = db.selectFrom("users").select(["id", "username"]).where("status", "=", "active");
  q =
    userId !== null
      ? q.where("id", "=", userId)
      : // the stored spelling is NFC (docs/input-rules.md), so a request in another spelling finds the user too
        q
          .where(sql<boolean>`lower(username) = lower(${normaliseName(username ?? "")})`)
          .orderBy(sql`username = ${username}`, "desc");
  const user = await q.limit(1).executeTakeFirst();
  if (!user) return null;
  const groups = await sql<{ name: string; via: string }>`
    select distinct on (g.id) g.name, d.name as via
    from group_members m
    join group_closure c on c.descendant_id = m.group_id
    join groups g on g.id = c.ancestor_id and g.disabled_at is null
    join groups d on d.id = m.group_id and d.disabled_at is null
    where m.user_id = ${user.id}::uuid
    order by g.id, c.depth`.execute(db);
  const roles = await sql<{ name: string }>`
    with recursive principals as (
      select 'user'::text as type, ${user.id}::uuid as id
      union
      select 'group', c.ancestor_id from group_members m
      join group_closure c on c.descendant_id = m.group_id
      join groups g on g.id = c.ancestor_id and g.disabled_at is null
      join groups d on d.id = m.group_id and d.disabled_at is null
      where m.user_id = ${user.id}::uuid
    ),
    held(role_id) as (
      select b.role_id from role_bindings b join principals p on b.principal_type = p.type and b.principal_id = p.id
      union
      select rc.child_role_id from held h join role_composites rc on rc.role_id = h.role_id
    )
    select distinct r.name from held h join roles r on r.id = h.role_id order by r.name`.execute(db);
  const viaGroups = new Map<string, string>();
  for (const g of groups.rows) viaGroups.set(g.name, g.via);
  return {
    userId: user.id,
    username: user.username,
    groups: groups.rows.map((g) => g.name).sort(),
    roles: roles.rows.map((r) => r.name),
    viaGroups,
  };
}
