import { sql } from "kysely";
import { ReferenceNotFound } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";
import { fail } from "./fail.ts";

/** What group writes check against: the organisation's name pattern, depth limit and metaschema. */
export interface OrgRules {
  groupNamePattern: string | null;
  groupMaxDepth: number;
  /** The group metaschema; null = the default. */
  metaschema: Record<string, unknown> | null;
}

/** How long a process reuses an organisation's rules read by another process's change. */
export const ORG_RULES_TTL_MS = 1000;

const cache = new Map<string, { rules: OrgRules; until: number }>();

/**
 * The rules of an organisation, read with one query and kept for `ORG_RULES_TTL_MS`: group
 * creation is the hot path and the rules change rarely. Changes made through this process forget
 * the entry at once (`forgetOrgRules`); other processes see them within the TTL.
 *
 * @throws REFERENCE_NOT_FOUND naming `field` for an unknown organisation.
 */
export async function orgRulesOf(db: Queryable, orgId: string, field: string): Promise<OrgRules> {
  const hit = cache.get(orgId);
  if (hit && hit.until > Date.now()) return hit.rules;
  const row = await sql<{
    group_name_pattern: string | null;
    group_max_depth: number;
    schema: Record<string, unknown> | null;
  }>`
    select o.group_name_pattern, o.group_max_depth, m.schema from orgs o
    left join metaschemas m on m.org_id = o.id and m.kind = 'group' where o.id = ${orgId}::uuid`.execute(db);
  const found = row.rows[0];
  if (!found) throw fail(ReferenceNotFound, field, "exists", `organisation \`${orgId}\` not found`);
  const rules = {
    groupNamePattern: found.group_name_pattern,
    groupMaxDepth: found.group_max_depth,
    metaschema: found.schema,
  };
  if (cache.size > 10_000) cache.clear();
  cache.set(orgId, { rules, until: Date.now() + ORG_RULES_TTL_MS });
  return rules;
}

/** Drops the cached rules of an organisation after a change to its pattern, depth or metaschema. */
export function forgetOrgRules(orgId: string): void {
  cache.delete(orgId);
}
