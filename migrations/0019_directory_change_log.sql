-- Directory changes are announced by a change log that every server process polls, no longer by a
-- NOTIFY per statement (0004). PostgreSQL commits the transactions that hold a pending NOTIFY one
-- at a time behind a cluster-wide lock, each until its commit record is flushed: that held
-- directory writes (SCIM creates, usersync pushes) to about 140/s at 16 clients, against 840-930/s
-- with the trigger disabled (docs/scim.md). One row per writing transaction, keyed by its top-level
-- transaction id; a reader asks which rows its previous snapshot could not see (started after it,
-- or in progress then), so a transaction that commits after a younger one is still seen
-- (src/decisions/directory-changes.ts). Policy notifications stay as they are. Forward-only.

create table directory_changes (
  xid         xid8 primary key,
  recorded_at timestamptz not null default now()
);

-- The triggers of 0004 (users, groups, group_members, group_closure, roles, role_bindings,
-- role_composites; per statement) keep calling this function by its name.
create or replace function gatehouse_notify_directory_change() returns trigger language plpgsql as $$
begin
  insert into directory_changes (xid) values (pg_current_xact_id()) on conflict do nothing;
  return null;
end $$;
