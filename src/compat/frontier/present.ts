import type { MemberRow } from "../../directory/effective.ts";
import type { MemberRole } from "../../directory/members.service.ts";
import type { GroupRow, UserRow } from "../../storage/schema.ts";

/**
 * Where a Frontier group's enabled/disabled state lives: the native group has no state, so a
 * disabled group carries this metadata key (absent = enabled). Frontier's own metadata never
 * shows it; the native API does, so an operator can see why a group reads as missing here.
 */
export const STATE_KEY = "frontier_state";

/** Frontier's state of a native group. */
export function stateOf(group: Pick<GroupRow, "metadata">): "enabled" | "disabled" {
  return group.metadata[STATE_KEY] === "disabled" ? "disabled" : "enabled";
}

/** Metadata as Frontier shows it: without the state key. */
export function visibleMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const { [STATE_KEY]: _state, ...rest } = metadata;
  return rest;
}

/** A Frontier `User`: `name` is the username, `title` the display name, `metadata` the attributes. */
export function presentFrontierUser(user: UserRow) {
  return {
    id: user.id,
    name: user.username,
    title: user.display_name ?? "",
    email: user.email ?? "",
    metadata: user.attributes,
    created_at: user.created_at.toISOString(),
    updated_at: user.updated_at.toISOString(),
    state: user.status === "active" ? "enabled" : "disabled",
    avatar: "",
  };
}

/** A Frontier `Group`; `users` and `members_count` only when the caller asked for them. */
export function presentFrontierGroup(group: GroupRow, members?: { users?: UserRow[]; count?: number }) {
  return {
    id: group.id,
    name: group.name,
    title: group.title,
    org_id: group.org_id,
    metadata: visibleMetadata(group.metadata),
    created_at: group.created_at.toISOString(),
    updated_at: group.updated_at.toISOString(),
    ...(members?.users ? { users: members.users.map(presentFrontierUser) } : {}),
    ...(members?.count !== undefined ? { members_count: members.count } : {}),
  };
}

/** Frontier's built-in group roles, which the native owner and member roles stand for. */
const GROUP_ROLES: Record<MemberRole, { name: string; title: string; permissions: string[] }> = {
  owner: { name: "app_group_owner", title: "Group Owner", permissions: ["app_group_administer"] },
  member: { name: "app_group_member", title: "Group Member", permissions: ["app_group_get"] },
};

/** A `role_pairs` entry of ListGroupUsers: the member's role in the group as a Frontier role. */
export function rolePairOf(member: MemberRow) {
  const role = GROUP_ROLES[member.role ?? "member"];
  return {
    user_id: member.id,
    roles: [
      { id: role.name, name: role.name, title: role.title, permissions: role.permissions, scopes: ["app/group"] },
    ],
  };
}
