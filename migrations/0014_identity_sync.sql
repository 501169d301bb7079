-- Scheduled LDAP / Active Directory sync (src/identity-sources/sync, docs/identity-sync.md): a
-- disabled state for groups, what each identity source manages, and the record of every run.
-- Forward-only: never edit once released.

-- A group that left its directory is disabled, never deleted: decisions treat it as absent (its
-- members lose what it granted at once) while its history and policy references remain. Users
-- already have `status` = 'disabled' (migration 0001), which decisions honour.
alter table groups add column disabled_at timestamptz;

-- The entries a source manages, keyed by the directory's own stable id (entryUUID, objectGUID):
-- a renamed or moved entry keeps its row. `dn` resolves member lists; `digest` spots changes;
-- `present` is false once the entry left the directory (its user or group is disabled).
create table identity_sync_entries (
  source_id  uuid not null references identity_sources (id) on delete cascade,
  kind       text not null check (kind in ('user', 'group')),
  entry_id   text not null,
  dn         text not null,
  local_id   uuid not null,
  digest     text not null,
  present    boolean not null default true,
  updated_at timestamptz not null default now(),
  primary key (source_id, kind, entry_id)
);
create index identity_sync_entries_dn on identity_sync_entries (source_id, kind, lower(dn));
create index identity_sync_entries_local on identity_sync_entries (local_id);

-- Sync state per source: when the last run of each kind finished and the directory's change mark.
alter table identity_sources add column sync_state jsonb not null default '{}';

-- One row per run (dry runs included): progress while it runs, then counts, changes and errors.
create table identity_sync_runs (
  id          uuid primary key default gen_random_uuid(),
  source_id   uuid not null references identity_sources (id) on delete cascade,
  org_id      uuid not null references orgs (id) on delete cascade,
  mode        text not null check (mode in ('full', 'incremental')),
  dry_run     boolean not null default false,
  trigger     text not null check (trigger in ('api', 'schedule', 'cli')),
  status      text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  phase       text not null default 'starting',
  progress    jsonb not null default '{}',
  counts      jsonb not null default '{}',
  changes     jsonb not null default '[]',
  conflicts   jsonb not null default '[]',
  error       text,
  started_at  timestamptz not null default now(),
  finished_at timestamptz
);
create index identity_sync_runs_source on identity_sync_runs (source_id, started_at desc);
