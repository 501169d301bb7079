-- Directory: group rules per organisation, identity sources, groups with their hierarchy
-- (closure table), memberships, composite roles. Forward-only: never edit once released.

-- Per-organisation directory rules. NULL pattern = only the built-in name rules apply.
alter table orgs add column group_name_pattern text;
alter table orgs add column group_max_depth integer not null default 32
  check (group_max_depth between 1 and 1000);

-- JSON Schemas (2020-12) that metadata must satisfy, per organisation and kind (`group`).
-- No row = the built-in default schema.
create table metaschemas (
  org_id     uuid not null references orgs (id) on delete cascade,
  kind       text not null check (kind in ('group')),
  schema     jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (org_id, kind)
);

create table identity_sources (
  id                     uuid primary key default gen_random_uuid(),
  org_id                 uuid not null references orgs (id) on delete cascade,
  name                   text not null,
  kind                   text not null check (kind in ('ldap')),
  config                 jsonb not null,
  -- The bind credential: AES-256-GCM ciphertext, or the name of an environment variable holding it.
  credential_ciphertext  text,
  credential_env         text,
  created_at             timestamptz not null default now(),
  updated_at             timestamptz not null default now()
);
create unique index identity_sources_org_name_key on identity_sources (org_id, lower(name));

create table groups (
  id                 uuid primary key default gen_random_uuid(),
  org_id             uuid not null references orgs (id) on delete cascade,
  name               text not null,
  title              text not null default '',
  description        text not null default '',
  parent_id          uuid references groups (id),
  metadata           jsonb not null default '{}',
  source             text not null default 'local' check (source in ('local', 'ldap', 'oidc', 'scim')),
  external_id        text,
  identity_source_id uuid references identity_sources (id),
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);
-- Names are unique per organisation, compared case-insensitively; the unique index also serves
-- keyset pages ordered by name, the pattern index serves name-prefix search.
create unique index groups_org_name_key on groups (org_id, lower(name));
create index groups_name_prefix on groups (org_id, lower(name) text_pattern_ops);
create index groups_parent on groups (parent_id, lower(name));
create index groups_source on groups (org_id, source, external_id);

-- Transitive closure of the hierarchy, one row per (ancestor, descendant) pair including the
-- group itself at depth 0. Maintained in the same transaction as every create, move and delete.
create table group_closure (
  ancestor_id   uuid not null references groups (id) on delete cascade,
  descendant_id uuid not null references groups (id) on delete cascade,
  depth         integer not null,
  primary key (ancestor_id, descendant_id)
);
create index group_closure_descendant on group_closure (descendant_id, ancestor_id, depth);

create table group_members (
  group_id   uuid not null references groups (id) on delete cascade,
  user_id    uuid not null references users (id) on delete cascade,
  role       text not null default 'member' check (role in ('owner', 'member')),
  created_at timestamptz not null default now(),
  primary key (group_id, user_id)
);
create index group_members_user on group_members (user_id, group_id);

-- A composite role bundles other roles; cycles are refused by the service.
create table role_composites (
  role_id       uuid not null references roles (id) on delete cascade,
  child_role_id uuid not null references roles (id) on delete cascade,
  primary key (role_id, child_role_id)
);
create index role_composites_child on role_composites (child_role_id);

create index users_org_id on users (org_id, id);
create index role_bindings_org on role_bindings (org_id, id);
