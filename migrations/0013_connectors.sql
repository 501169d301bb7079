-- Outbound connectors (src/connectors, docs/connectors.md): the directory carried to Keycloak and
-- to an external Ranger Admin. Every directory change a connector carries writes an outbox row in
-- the same transaction, through the triggers below: one definition for every writer (the native
-- API, Nx1, SCIM, Ranger usersync's bulk pushes, LDAP imports), so nothing committed is missed and
-- nothing rolled back is sent. An outbox row names a group only; the worker sends the group's
-- current state, so replaying rows changes nothing. Forward-only: never edit once released.

create table connectors (
  id                uuid primary key default gen_random_uuid(),
  name              text not null unique,
  kind              text not null check (kind in ('keycloak', 'ranger')),
  -- the organisations whose groups the connector carries
  org_ids           uuid[] not null,
  -- settings without secrets (base URL, realm, client id, username, selection, flags)
  config            jsonb not null default '{}',
  -- the secrets (client secret, password) as a JSON object sealed by credential-box.ts
  secret_ciphertext text,
  enabled           boolean not null default true,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  last_success_at   timestamptz,
  last_error        text,
  last_error_at     timestamptz,
  last_reconcile_at timestamptz,
  last_reconcile    jsonb
);

-- One row per change a connector has to carry; deleted once the group's state has reached the target.
create table connector_outbox (
  seq          bigint generated always as identity primary key,
  connector_id uuid not null references connectors (id) on delete cascade,
  group_id     uuid not null,
  created_at   timestamptz not null default now()
);
create index connector_outbox_object on connector_outbox (connector_id, group_id, seq);

-- What a connector last sent for a group (its path, written before each send so a later delete
-- knows the name the target holds) and the group's delivery retries.
create table connector_objects (
  connector_id    uuid not null references connectors (id) on delete cascade,
  group_id        uuid not null,
  delivered_path  jsonb,
  delivered_at    timestamptz,
  attempts        integer not null default 0,
  next_attempt_at timestamptz,
  last_error      text,
  last_status     integer,
  dead_at         timestamptz,
  primary key (connector_id, group_id)
);
create index connector_objects_dead on connector_objects (connector_id) where dead_at is not null;

-- Enqueues, for every connector covering the group's organisation, the groups a statement
-- changed: `tg_argv[0]` says which table and therefore which groups a row affects.
create or replace function connector_enqueue() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from connectors) then
    return null;
  end if;
  -- a new group is enqueued by its closure rows (below)
  if tg_argv[0] = 'groups-old' then
    insert into connector_outbox (connector_id, group_id)
    select c.id, g.id from changed g join connectors c on g.org_id = any (c.org_ids);
  elsif tg_argv[0] = 'groups-update' then
    -- a rename or move changes the path of the whole subtree
    insert into connector_outbox (connector_id, group_id)
    select distinct c.id, cl.descendant_id
    from new_rows n join old_rows o on o.id = n.id
    join group_closure cl on cl.ancestor_id = n.id
    join connectors c on n.org_id = any (c.org_ids)
    where n.name is distinct from o.name or n.metadata is distinct from o.metadata
       or n.parent_id is distinct from o.parent_id or n.hidden is distinct from o.hidden;
  elsif tg_argv[0] = 'members' then
    -- a membership changes the group and, for flat targets, every ancestor's effective members
    insert into connector_outbox (connector_id, group_id)
    select distinct c.id, cl.ancestor_id
    from changed m join group_closure cl on cl.descendant_id = m.group_id
    join groups g on g.id = cl.ancestor_id
    join connectors c on g.org_id = any (c.org_ids);
  elsif tg_argv[0] = 'closure' then
    -- a move rewrites closure rows: both ends change (paths below, effective members above)
    insert into connector_outbox (connector_id, group_id)
    select distinct c.id, g.id
    from (select ancestor_id as id from changed union select descendant_id from changed) x
    join groups g on g.id = x.id
    join connectors c on g.org_id = any (c.org_ids);
  elsif tg_argv[0] = 'users-update' then
    -- a renamed user changes the member lists of its groups and their ancestors
    insert into connector_outbox (connector_id, group_id)
    select distinct c.id, cl.ancestor_id
    from new_rows n join old_rows o on o.id = n.id
    join group_members m on m.user_id = n.id
    join group_closure cl on cl.descendant_id = m.group_id
    join groups g on g.id = cl.ancestor_id
    join connectors c on g.org_id = any (c.org_ids)
    where n.username is distinct from o.username;
  end if;
  return null;
end $$;

create trigger connector_groups_update after update on groups
  referencing new table as new_rows old table as old_rows
  for each statement execute function connector_enqueue('groups-update');
create trigger connector_groups_delete after delete on groups
  referencing old table as changed for each statement execute function connector_enqueue('groups-old');
create trigger connector_members_insert after insert on group_members
  referencing new table as changed for each statement execute function connector_enqueue('members');
create trigger connector_members_delete after delete on group_members
  referencing old table as changed for each statement execute function connector_enqueue('members');
create trigger connector_closure_insert after insert on group_closure
  referencing new table as changed for each statement execute function connector_enqueue('closure');
create trigger connector_closure_delete after delete on group_closure
  referencing old table as changed for each statement execute function connector_enqueue('closure');
create trigger connector_users_update after update on users
  referencing new table as new_rows old table as old_rows
  for each statement execute function connector_enqueue('users-update');
