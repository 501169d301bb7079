import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/**
 * Table types for Kysely, one interface per table of migrations/*.sql. Domains add their tables
 * here when they add a migration; rows are mapped to domain types in each domain's store.
 */
export interface Database {
  settings: SettingsTable;
  orgs: OrgsTable;
  users: UsersTable;
  roles: RolesTable;
  role_bindings: RoleBindingsTable;
  api_keys: ApiKeysTable;
  scim_clients: ScimClientsTable;
  service_accounts: ServiceAccountsTable;
  audit_events: AuditEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  metaschemas: MetaschemasTable;
  identity_sources: IdentitySourcesTable;
  groups: GroupsTable;
  group_closure: GroupClosureTable;
  group_members: GroupMembersTable;
  role_composites: RoleCompositesTable;
  directory_counts: DirectoryCountsTable;
  service_defs: ServiceDefsTable;
  services: ServicesTable;
  policies: PoliciesTable;
  policy_resources: PolicyResourcesTable;
  policy_versions: PolicyVersionsTable;
  policy_deltas: PolicyDeltasTable;
  tag_role_associations: TagRoleAssociationsTable;
  decision_log: DecisionLogTable;
  plugin_downloads: PluginDownloadsTable;
  tag_defs: TagDefsTable;
  tags: TagsTable;
  service_resources: ServiceResourcesTable;
  resource_tags: ResourceTagsTable;
  tag_changes: TagChangesTable;
  security_zones: SecurityZonesTable;
  security_zone_services: SecurityZoneServicesTable;
  console_sessions: ConsoleSessionsTable;
  console_oidc_logins: ConsoleOidcLoginsTable;
  identity_sync_entries: IdentitySyncEntriesTable;
  identity_sync_runs: IdentitySyncRunsTable;
}

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

export interface SettingsTable {
  key: string;
  value: Json;
  updated_at: UpdatedAt;
}

export interface OrgsTable {
  id: Generated<string>;
  name: string;
  title: Generated<string>;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** Stricter group-name pattern of the organisation (migration 0002); null = built-in rules only. */
  group_name_pattern: ColumnType<string | null, string | null | undefined, string | null>;
  /** Deepest group hierarchy allowed, in levels (migration 0002). */
  group_max_depth: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface UsersTable {
  id: Generated<string>;
  org_id: string;
  username: string;
  email: string | null;
  display_name: string | null;
  status: Generated<"active" | "disabled">;
  attributes: ColumnType<Record<string, unknown>, string | undefined, string>;
  source: Generated<"local" | "ldap" | "oidc" | "scim" | "ranger-usersync">;
  external_id: string | null;
  /** Ranger's numeric user id (`VXUser.id`, migration 0011). */
  num: Generated<number>;
  /** Ranger's `isVisible` = 0 (migration 0011). */
  hidden: Generated<boolean>;
  /** The SCIM client that created or last wrote the user (migration 0015). */
  scim_client_id: Generated<string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface RolesTable {
  id: Generated<string>;
  /** Small stable integer, for APIs that number roles (Puppet RBAC). */
  num: Generated<number>;
  org_id: string | null;
  name: string;
  description: Generated<string>;
  permissions: ColumnType<string[], string[] | undefined, string[]>;
  builtin: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface RoleBindingsTable {
  id: Generated<string>;
  org_id: string;
  role_id: string;
  principal_type: "user" | "group" | "service_account";
  principal_id: string;
  scope_type: Generated<"org" | "service" | "resource">;
  scope: Generated<string>;
  allow_all_objects: Generated<boolean>;
  /** Role administrator: may grant and revoke the role through Ranger's role API (migration 0009). */
  is_admin: Generated<boolean>;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  created_at: CreatedAt;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** SCIM clients: bearer credentials bound to one organisation (migration 0015). */
export interface ScimClientsTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  created_at: CreatedAt;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface ServiceAccountsTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  description: Generated<string>;
  client_id: string;
  secret_hash: string;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  disabled: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AuditEventsTable {
  id: Generated<number>;
  occurred_at: CreatedAt;
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  auth_method: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  org_id: string | null;
  before: Json | null;
  after: Json | null;
  request_id: string | null;
  client_ip: string | null;
}

export interface IdempotencyKeysTable {
  principal: string;
  key: string;
  method: string;
  path: string;
  body_hash: string;
  status_code: number | null;
  response_body: string | null;
  content_type: string | null;
  created_at: CreatedAt;
}

// ── directory (migration 0002) ─────────────────────────────────────────────

export interface MetaschemasTable {
  org_id: string;
  kind: "group";
  schema: Json<Record<string, unknown>>;
  updated_at: UpdatedAt;
}

export interface IdentitySourcesTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  kind: "ldap";
  config: Json<Record<string, unknown>>;
  credential_ciphertext: string | null;
  credential_env: string | null;
  /** When the last runs finished and the directory's change mark (migration 0014). */
  sync_state: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** An entry an identity source's sync manages, keyed by the directory's stable id (migration 0014). */
export interface IdentitySyncEntriesTable {
  source_id: string;
  kind: "user" | "group";
  entry_id: string;
  dn: string;
  local_id: string;
  digest: string;
  present: Generated<boolean>;
  updated_at: UpdatedAt;
}

/** One sync run of an identity source (migration 0014). */
export interface IdentitySyncRunsTable {
  id: Generated<string>;
  source_id: string;
  org_id: string;
  mode: "full" | "incremental";
  dry_run: Generated<boolean>;
  trigger: "api" | "schedule" | "cli";
  status: Generated<"running" | "succeeded" | "failed">;
  phase: Generated<string>;
  progress: ColumnType<Record<string, unknown>, string | undefined, string>;
  counts: ColumnType<Record<string, number>, string | undefined, string>;
  changes: ColumnType<unknown[], string | undefined, string>;
  conflicts: ColumnType<unknown[], string | undefined, string>;
  error: string | null;
  started_at: CreatedAt;
  finished_at: Date | null;
}

export interface GroupsTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  title: Generated<string>;
  description: Generated<string>;
  parent_id: string | null;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  source: Generated<"local" | "ldap" | "oidc" | "scim" | "ranger-usersync">;
  external_id: string | null;
  identity_source_id: string | null;
  /** Ranger's numeric group id (`VXGroup.id`, migration 0011). */
  num: Generated<number>;
  /** Ranger's `isVisible` = 0 (migration 0011). */
  hidden: Generated<boolean>;
  /** The SCIM client that created or last wrote the group (migration 0015). */
  scim_client_id: Generated<string | null>;
  /** Set when the group left its directory: decisions treat it as absent (migration 0014). */
  disabled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface GroupClosureTable {
  ancestor_id: string;
  descendant_id: string;
  depth: number;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  role: Generated<"owner" | "member">;
  /** Ranger's numeric group-user id (`VXGroupUser.id`, migration 0011). */
  num: Generated<number>;
  created_at: CreatedAt;
}

export interface RoleCompositesTable {
  role_id: string;
  child_role_id: string;
  /** The direct users and groups of `role_id` administer `child_role_id` (migration 0009). */
  is_admin: Generated<boolean>;
}

/** Sharded exact counts of groups and users per organisation (migration 0005, kept by triggers). */
export interface DirectoryCountsTable {
  org_id: string;
  kind: "group" | "user";
  shard: number;
  n: number;
}

export type UserRow = Selectable<UsersTable>;
export type GroupRow = Selectable<GroupsTable>;
export type OrgRow = Selectable<OrgsTable>;
export type RoleRow = Selectable<RolesTable>;
export type RoleBindingRow = Selectable<RoleBindingsTable>;
export type IdentitySourceRow = Selectable<IdentitySourcesTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;

// ── policies (migration 0003) ──────────────────────────────────────────────

export interface ServiceDefsTable {
  id: Generated<number>;
  name: string;
  def: Json<Record<string, unknown>>;
  builtin: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ServicesTable {
  id: Generated<number>;
  name: string;
  type: string;
  display_name: Generated<string>;
  description: Generated<string>;
  configs: Json<Record<string, string>>;
  is_enabled: Generated<boolean>;
  policy_version: Generated<number>;
  policy_update_time: Date | null;
  /** The linked tag service (migration 0006); null when none. */
  tag_service_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** Bumped by every change to the service's resource tags (migration 0006). */
  tag_version: Generated<number>;
  tag_update_time: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface PoliciesTable {
  id: Generated<number>;
  guid: Generated<string>;
  service_id: number;
  name: string;
  zone_name: Generated<string>;
  policy_type: number;
  policy_priority: number;
  is_enabled: boolean;
  version: Generated<number>;
  resource_signature: string;
  labels: ColumnType<string[], string[], string[]>;
  users: ColumnType<string[], string[], string[]>;
  groups: ColumnType<string[], string[], string[]>;
  roles: ColumnType<string[], string[], string[]>;
  body: Json<Record<string, unknown>>;
  created_by: string | null;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface PolicyResourcesTable {
  policy_id: number;
  service_id: number;
  resource_name: string;
  value_lower: string;
  wild: boolean;
}

export interface PolicyVersionsTable {
  policy_id: number;
  version: number;
  service_id: number;
  change_type: number;
  body: Json<Record<string, unknown>>;
  changed_by: string | null;
  changed_at: CreatedAt;
}

export interface PolicyDeltasTable {
  id: Generated<number>;
  service_id: number;
  policy_id: number;
  change_type: number;
  policies_version: number;
  policy: Json<Record<string, unknown>>;
  created_at: CreatedAt;
}

export interface TagRoleAssociationsTable {
  id: Generated<string>;
  tag: string;
  role: string;
  is_readonly: boolean;
  policy_id: number | null;
  created_at: CreatedAt;
}

// ── decisions (migration 0004) ─────────────────────────────────────────────

export interface DecisionLogTable {
  id: Generated<number>;
  occurred_at: CreatedAt;
  service: string;
  user_name: string;
  groups: ColumnType<string[], string[] | undefined, string[]>;
  roles: ColumnType<string[], string[] | undefined, string[]>;
  access_type: string;
  action: string | null;
  resource: string;
  policy_type: number;
  allowed: boolean;
  determined: boolean;
  policy_id: number | null;
  policy_version: number | null;
  reason: string | null;
  request_id: string | null;
  client_ip: string | null;
}

export interface PluginDownloadsTable {
  service_id: number;
  plugin_id: string;
  kind: "policies" | "roles" | "tags";
  cluster_name: string;
  last_known_version: number | null;
  served_version: number | null;
  status: number;
  client_ip: string | null;
  downloaded_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

// ── resource tags (migration 0006) ─────────────────────────────────────────

export interface TagDefsTable {
  id: Generated<number>;
  guid: Generated<string>;
  name: string;
  attribute_defs: Json<{ name: string; type?: string }[]>;
  created_by: string | null;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface TagsTable {
  id: Generated<number>;
  guid: Generated<string>;
  type: string;
  attributes: Json<Record<string, string>>;
  validity_periods: Json<unknown[]>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ServiceResourcesTable {
  id: Generated<number>;
  guid: Generated<string>;
  service_id: number;
  resource_elements: Json<Record<string, unknown>>;
  resource_signature: string;
  owner_user: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ResourceTagsTable {
  resource_id: number;
  tag_id: number;
}

/** migrations/0008: one change of a service's resource tags (Ranger `x_tag_change_log`). */
export interface TagChangesTable {
  id: Generated<number>;
  service_id: number;
  tag_version: number;
  object_type: "resource" | "tag" | "tag_def" | "none" | "all";
  object_id: number;
  change_type: "added" | "updated" | "deleted";
  created_at: CreatedAt;
}

/** migrations/0007: a security zone (Ranger `RangerSecurityZone`). */
export interface SecurityZonesTable {
  id: Generated<number>;
  guid: Generated<string>;
  name: string;
  description: Generated<string>;
  admin_users: Generated<string[]>;
  admin_user_groups: Generated<string[]>;
  admin_roles: Generated<string[]>;
  audit_users: Generated<string[]>;
  audit_user_groups: Generated<string[]>;
  audit_roles: Generated<string[]>;
  created_by: string | null;
  updated_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** migrations/0007: a service taking part in a zone, with the resources the zone claims in it. */
export interface SecurityZoneServicesTable {
  zone_id: number;
  service_id: number;
  resources: Json<Record<string, string[]>[]>;
}

/** migrations/0016: a console session (the cookie's secret is kept only as a hash). */
export interface ConsoleSessionsTable {
  id: Generated<string>;
  secret_hash: string;
  csrf_hash: string;
  auth_method: "general_psk" | "user_psk" | "keycloak_token";
  credential_id: string;
  api_key_id: string | null;
  token_claims: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  created_at: CreatedAt;
  expires_at: Date;
  last_seen_at: ColumnType<Date, Date | undefined, Date>;
  revoked_at: Date | null;
}

/** migrations/0016: an OIDC sign-in in progress, keyed by the hash of its `state`. */
export interface ConsoleOidcLoginsTable {
  state_hash: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
  expires_at: Date;
}
