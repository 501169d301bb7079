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
 */
export async function loadGroupStates(
  db: Queryable,
  connector: Pick<ConnectorRow, "org_ids" | "config">,
  membership: "direct" | "effective",
  scope: { ids: string[] } | { afterId: string | null; limit: number },
): Promise<DesiredGroup[]> {
  const carry = connector.config.carryMemberships !== false;
  const depth = membership === "direct" ? sql`and c.depth = 0` : sql``;
  const members = carry
    ? sql`coalesce((select array_agg(distinct u.username) from group_closure c
          join group_members m on m.group_id = c.descendant_id join users u on u.id = m.user_id
          where c.ancestor_id = g.id ${depth}), '{}')`
    : sql`'{}'::text[]`;
  const where =
    "ids" in scope
      ? sql`g.id = any(${scope.ids}::uuid[])`
      : sql`g.org_id = any(${connector.org_ids}::uuid[]) ${scope.afterId ? sql`and g.id > ${scope.afterId}::uuid` : sql``}`;
  const tail = "ids" in scope ? sql`` : sql`order by g.id limit ${scope.limit}`;
  const rows = await sql<Row>`
    select g.id, g.org_id, g.name, g.metadata, g.hidden,
      (select array_agg(a.name order by c.depth desc) from group_closure c join groups a on a.id = c.ancestor_id
        where c.descendant_id = g.id) as path,
      ${members} as members
    from groups g where ${where} ${tail}`.execute(db);
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
