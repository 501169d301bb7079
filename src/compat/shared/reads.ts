import { type MemberRow, membersOfGroup, type PageResult } from "../../directory/effective.ts";
import { listGroups, listRoleBindings, listRoles } from "../../directory/lists.ts";
import type { Queryable } from "../../storage/db.ts";
import type { GroupRow, RoleBindingRow, RoleRow } from "../../storage/schema.ts";

// Reads for the compatibility APIs, composed from the directory's own list functions. Frontier,
// Puppet and VMware Aria answer their group lists unpaginated, so these walk every page.

const PAGE = 1000;

/** Reads every page of a keyset list. */
export async function everyPage<T>(read: (cursor: string | undefined) => Promise<PageResult<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** Every group of an organisation, ordered by name. */
export function allGroups(db: Queryable, orgId: string): Promise<GroupRow[]> {
  return everyPage((cursor) => listGroups(db, orgId, {}, PAGE, cursor));
}

/** The direct members of a group with their roles (owner or member), ordered by user id. */
export function directMembers(db: Queryable, groupId: string): Promise<MemberRow[]> {
  return everyPage((cursor) => membersOfGroup(db, groupId, { effective: false, limit: PAGE, cursor }));
}

/** The built-in roles and the organisation's own roles. */
export function rolesOf(db: Queryable, orgId: string): Promise<(RoleRow & { composites: string[] })[]> {
  return everyPage((cursor) => listRoles(db, orgId, {}, PAGE, cursor));
}

/** Every role binding naming the group as its principal. */
export function bindingsOfGroup(db: Queryable, orgId: string, groupId: string): Promise<RoleBindingRow[]> {
  return everyPage((cursor) =>
    listRoleBindings(db, orgId, { principalType: "group", principalId: groupId }, PAGE, cursor),
  );
}
