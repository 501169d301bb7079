import type { GroupRow, OrgRow, RoleBindingRow, RoleRow, UserRow } from "../storage/schema.ts";

/** An organisation as the API shows it. */
export interface OrgView {
  id: string;
  name: string;
  title: string;
  metadata: Record<string, unknown>;
  groupNamePattern: string | null;
  groupMaxDepth: number;
  createdAt: string;
  updatedAt: string;
}

/** Maps a stored organisation to its public view. */
export function presentOrg(row: OrgRow): OrgView {
  return {
    id: row.id,
    name: row.name,
    title: row.title,
    metadata: row.metadata,
    groupNamePattern: row.group_name_pattern,
    groupMaxDepth: row.group_max_depth,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A user as the API shows it. */
export interface UserView {
  id: string;
  orgId: string;
  username: string;
  email: string | null;
  displayName: string | null;
  status: "active" | "disabled";
  attributes: Record<string, unknown>;
  source: "local" | "ldap" | "oidc" | "scim" | "ranger-usersync";
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Maps a stored user to its public view. */
export function presentUser(row: UserRow): UserView {
  return {
    id: row.id,
    orgId: row.org_id,
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    status: row.status,
    attributes: row.attributes,
    source: row.source,
    externalId: row.external_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A group as the API shows it. */
export interface GroupView {
  id: string;
  orgId: string;
  name: string;
  title: string;
  description: string;
  parentId: string | null;
  metadata: Record<string, unknown>;
  source: "local" | "ldap" | "oidc" | "scim" | "ranger-usersync";
  externalId: string | null;
  identitySourceId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Maps a stored group to its public view. */
export function presentGroup(row: GroupRow): GroupView {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    title: row.title,
    description: row.description,
    parentId: row.parent_id,
    metadata: row.metadata,
    source: row.source,
    externalId: row.external_id,
    identitySourceId: row.identity_source_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * A role as the API shows it; `composites` are the ids of the roles it bundles directly, and
 * `administers` the ones among them that this role's direct users and groups administer (Ranger:
 * this role is an admin member role of them).
 */
export interface RoleView {
  id: string;
  num: number;
  orgId: string | null;
  name: string;
  description: string;
  permissions: string[];
  builtin: boolean;
  composites: string[];
  administers: string[];
  createdAt: string;
  updatedAt: string;
}

/** Maps a stored role, its direct composites and the ones it administers to the public view. */
export function presentRole(row: RoleRow, composites: string[], administers: string[]): RoleView {
  return {
    id: row.id,
    num: row.num,
    orgId: row.org_id,
    name: row.name,
    description: row.description,
    permissions: row.permissions,
    builtin: row.builtin,
    composites,
    administers,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** A role binding as the API shows it. */
export interface RoleBindingView {
  id: string;
  orgId: string;
  roleId: string;
  principal: { type: "user" | "group" | "service_account"; id: string };
  scope: { type: "org" | "service" | "resource"; value: string };
  allowAllObjects: boolean;
  /** Role administrator: may grant and revoke the role (Ranger's `isAdmin`, Hive's WITH ADMIN OPTION). */
  isAdmin: boolean;
  createdAt: string;
}

/** Maps a stored role binding to its public view. */
export function presentRoleBinding(row: RoleBindingRow): RoleBindingView {
  return {
    id: row.id,
    orgId: row.org_id,
    roleId: row.role_id,
    principal: { type: row.principal_type, id: row.principal_id },
    scope: { type: row.scope_type, value: row.scope },
    allowAllObjects: row.allow_all_objects,
    isAdmin: row.is_admin,
    createdAt: row.created_at.toISOString(),
  };
}
