-- SCIM 2.0 provisioning (src/scim/): each SCIM client is a bearer credential bound to one
-- organisation; what it provisions carries `source = 'scim'` and the client's id, so SCIM entries
-- are told apart from local, LDAP and Ranger usersync ones; SCIM's `externalId` is `external_id`.
-- Forward-only: never edit once released.

create table scim_clients (
  id           uuid primary key default gen_random_uuid(),
  org_id       uuid not null references orgs (id) on delete cascade,
  name         text not null,
  -- public part of the token (`ghs_<prefix>_<secret>`); only the SHA-256 of the token is stored
  prefix       text not null unique,
  secret_hash  text not null,
  created_at   timestamptz not null default now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);
create index scim_clients_org on scim_clients (org_id, id);

-- The SCIM client that created or last wrote the entry (null: not written through SCIM).
alter table users add column scim_client_id uuid references scim_clients (id) on delete set null;
alter table groups add column scim_client_id uuid references scim_clients (id) on delete set null;

-- SCIM filters pushed into SQL: `externalId eq`, `emails.value eq` (userName uses users_org_username_key).
create index users_org_external_id on users (org_id, external_id) where external_id is not null;
create index groups_org_external_id on groups (org_id, external_id) where external_id is not null;
create index users_org_email on users (org_id, lower(email)) where email is not null;
