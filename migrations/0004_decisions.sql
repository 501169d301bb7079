-- Decisions and policy distribution: the decision log (audited decisions, written in batches off
-- the request path), the record of plugin downloads, and change notifications so every server
-- process sharing one PostgreSQL learns of committed policy and directory changes (LISTEN/NOTIFY;
-- a notification is sent only when its transaction commits, and repeats within one transaction
-- are folded into one by PostgreSQL). Forward-only: never edit once released.

create table decision_log (
  id             bigint generated always as identity primary key,
  occurred_at    timestamptz not null default now(),
  service        text not null,
  user_name      text not null,
  groups         text[] not null default '{}',
  roles          text[] not null default '{}',
  access_type    text not null,
  action         text,
  -- Canonical `name=value/name=value` in the service-def's resource order, for search.
  resource       text not null,
  policy_type    smallint not null default 0,
  allowed        boolean not null,
  determined     boolean not null,
  policy_id      integer,
  policy_version integer,
  reason         text,
  request_id     text,
  client_ip      text
);
create index decision_log_time on decision_log (occurred_at desc, id desc);
create index decision_log_user on decision_log (user_name, id desc);
create index decision_log_policy on decision_log (policy_id, id desc);
create index decision_log_resource on decision_log (resource text_pattern_ops);

-- The last download of each plugin (Ranger's plugin info): one row per service, plugin and kind.
create table plugin_downloads (
  service_id         integer not null references services (id) on delete cascade,
  plugin_id          text not null,
  kind               text not null check (kind in ('policies', 'roles', 'tags')),
  cluster_name       text not null default '',
  last_known_version integer,
  served_version     integer,
  status             smallint not null,
  client_ip          text,
  downloaded_at      timestamptz not null default now(),
  primary key (service_id, plugin_id, kind)
);

create function gatehouse_notify_policy_change() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'policy_deltas' then
    perform pg_notify('gatehouse_policies', new.service_id::text);
  elsif tg_op = 'DELETE' then
    perform pg_notify('gatehouse_policies', old.id::text);
  else
    perform pg_notify('gatehouse_policies', new.id::text);
  end if;
  return null;
end $$;

create trigger policy_deltas_notify after insert on policy_deltas
  for each row execute function gatehouse_notify_policy_change();
create trigger services_notify after insert or update or delete on services
  for each row execute function gatehouse_notify_policy_change();

create function gatehouse_notify_directory_change() returns trigger language plpgsql as $$
begin
  perform pg_notify('gatehouse_directory', '');
  return null;
end $$;

create trigger users_notify after insert or update or delete on users
  for each statement execute function gatehouse_notify_directory_change();
create trigger groups_notify after insert or update or delete on groups
  for each statement execute function gatehouse_notify_directory_change();
create trigger group_members_notify after insert or update or delete on group_members
  for each statement execute function gatehouse_notify_directory_change();
create trigger group_closure_notify after insert or update or delete on group_closure
  for each statement execute function gatehouse_notify_directory_change();
create trigger roles_notify after insert or update or delete on roles
  for each statement execute function gatehouse_notify_directory_change();
create trigger role_bindings_notify after insert or update or delete on role_bindings
  for each statement execute function gatehouse_notify_directory_change();
create trigger role_composites_notify after insert or update or delete on role_composites
  for each statement execute function gatehouse_notify_directory_change();
