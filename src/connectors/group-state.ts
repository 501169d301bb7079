import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";
import { type ConnectorRow, isSelected } from "./connector-model.ts";
import { GROUP_ID_ATTRIBUTE, type GroupState } from "./target.ts";

/** A group as the connector would send it, with what decides whether it is carried at all. */
export interface DesiredGroup {
  state: GroupState;
  orgId: string;
  /** False when the group exists but the connector does not carry it (selection, hidden). */
  carried: boolean;
}

interface Row {
  id: string;
  org_id: string;
  name: string;
  metadata: Record<string, unknown> | null;
  hidden: boolean;
  path: string[];
  members: string[];
}

/**
 * The attributes a group carries: its Gatehouse id and its metadata labels (`labels.team` →
 * `team`), each a list of strings as Keycloak's attributes are.
 */
export function attributesOf(id: string, metadata: Record<string, unknown> | null): Record<string, string[]> {
  const out: Record<string, string[]> = { [GROUP_ID_ATTRIBUTE]: [id] };
  const labels = metadata?.labels;
  if (labels && typeof labels === "object") {
    for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
      if (k === GROUP_ID_ATTRIBUTE) continue;
      if (typeof v === "string") out[k] = [v];
      else if (Array.isArray(v)) out[k] = v.map(String);
    }
  }
  return out;
}

/**
 * The current state of groups for `connector`, in one statement: path from the root, attributes,
 * and members by username (direct or effective, as the target asks; none when the connector does
 * not carry memberships). Pass `ids` for those groups (absent ones are simply missing from the
 * answer) or nothing for every group of the connector's organisations (reconcile), paged by id.
 *
 * Paths and members are aggregated for the whole set at once (joins grouped by group), not by a
 * subquery per group: right after a bulk load, before PostgreSQL has analysed the tables, the
 * planner took the memberships table for a few hundred rows and scanned all of it once per group,
 * and an initial sync of 10,000 groups spent 53 of its 67 s here (bench:sync, docs/connectors.md).
 * Grouped joins cost one pass even under that misestimate.
 */
export async function loadGroupStates(
  db: Queryable,
  connector: Pick<ConnectorRow, "org_ids" | "config">,
  membership: "direct" | "effective",
  scope: { ids: string[] } | { afterId: string | null; limit: number },
): Promise<DesiredGroup[]> {
  const carry = connector.config.carryMemberships !== false;
  const depth = membership === "direct" ? sql`and c.depth = 0` : sql``;
  const chosen =
    "ids" in scope
      ? sql`select g.id from groups g where g.id = any(${scope.ids}::uuid[])`
      : sql`select g.id from groups g where g.org_id = any(${connector.org_ids}::uuid[])
              ${scope.afterId ? sql`and g.id > ${scope.afterId}::uuid` : sql``} order by g.id limit ${scope.limit}`;
  const members = carry
    ? sql`select c.ancestor_id as id, array_agg(distinct u.username) as members
          from chosen k join group_closure c on c.ancestor_id = k.id ${depth}
          join group_members m on m.group_id = c.descendant_id join users u on u.id = m.user_id
          group by c.ancestor_id`
    : sql`select null::uuid as id, '{}'::text[] as members where false`;
  const rows = await sql<Row>`
    with chosen as materialized (${chosen}),
    paths as (
      select c.descendant_id as id, array_agg(a.name order by c.depth desc) as path
      from chosen k join group_closure c on c.descendant_id = k.id join groups a on a.id = c.ancestor_id
      group by c.descendant_id),
    members as (${members})
    select g.id, g.org_id, g.name, g.metadata, g.hidden, p.path, coalesce(mm.members, '{}') as members
    from chosen k join groups g on g.id = k.id
      left join paths p on p.id = g.id left join members mm on mm.id = g.id
    order by g.id`.execute(db);
  return rows.rows.map((r) => ({
    orgId: r.org_id,
    carried:
      !r.hidden &&
      connector.org_ids.includes(r.org_id) &&
      isSelected(connector.config.selection, { id: r.id, name: r.name }),
    state: {
      gatehouseId: r.id,
      path: r.path ?? [r.name],
      attributes: attributesOf(r.id, r.metadata),
      members: [...(r.members ?? [])].sort(),
    },
  }));
}
