-- Policies carried by ranger connectors (docs/connectors.md "Policies"): a connector whose config
-- maps a Gatehouse service to a Ranger service (`config.policies.services`) pushes that service's
-- policies through Ranger's public v2 API. As for groups (0013), every policy write queues a row
-- in the same transaction, through a trigger, so nothing committed is missed and nothing rolled
-- back is sent; the worker sends the policy's CURRENT state, so replaying rows changes nothing.
-- A separate queue from connector_outbox (whose rows name a group, and whose readers, the Nx1
-- wait and the dead letters, are about groups). Forward-only: never edit once released.

-- One row per policy change a connector has to carry. `service_name`, `policy_name` and
-- `zone_name` are what the row's statement saw (the old names for an update or delete): a rename
-- or delete knows which name the target may hold even when it was never recorded as delivered.
create table connector_policy_outbox (
  seq          bigint generated always as identity primary key,
  connector_id uuid not null references connectors (id) on delete cascade,
  policy_id    integer not null,
  service_name text not null,
  policy_name  text not null,
  zone_name    text not null default '',
  created_at   timestamptz not null default now()
);
create index connector_policy_outbox_object on connector_policy_outbox (connector_id, policy_id, seq);

-- What a connector last delivered for a policy (the Ranger service, name and zone the target holds
-- it under, so a rename or delete finds it) and the policy's delivery retries.
create table connector_policies (
  connector_id      uuid not null references connectors (id) on delete cascade,
  policy_id         integer not null,
  delivered_service text,
  delivered_name    text,
  delivered_zone    text,
  delivered_at      timestamptz,
  attempts          integer not null default 0,
  next_attempt_at   timestamptz,
  last_error        text,
  last_status       integer,
  dead_at           timestamptz,
  primary key (connector_id, policy_id)
);

-- Enqueues the policies a statement changed for every ranger connector mapping their service.
create or replace function connector_policy_enqueue() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from connectors where kind = 'ranger' and config ? 'policies') then
    return null;
  end if;
  insert into connector_policy_outbox (connector_id, policy_id, service_name, policy_name, zone_name)
  select c.id, p.id, s.name, p.name, p.zone_name
  from changed p join services s on s.id = p.service_id
  join connectors c on c.kind = 'ranger' and (c.config -> 'policies' -> 'services') ? s.name;
  return null;
end $$;

create trigger connector_policies_insert after insert on policies
  referencing new table as changed for each statement execute function connector_policy_enqueue();
-- an update queues the old names (a rename); the new ones are the current state
create trigger connector_policies_update after update on policies
  referencing old table as changed for each statement execute function connector_policy_enqueue();
create trigger connector_policies_delete after delete on policies
  referencing old table as changed for each statement execute function connector_policy_enqueue();
