-- Directory counts: one shard per transaction instead of one per statement.
-- 0005 picked a random shard for every insert or delete statement, so a transaction creating
-- several groups locked several counter rows in random order, and two such transactions could
-- each hold the row the other wanted next: PostgreSQL aborted one with `deadlock detected`.
-- The shard now follows the transaction id: every statement of a transaction adds to the same
-- counter row (per organisation and kind), so creations never wait on each other in a cycle,
-- and concurrent transactions still spread over the 16 shards. Forward-only.

create or replace function directory_count_rows() returns trigger language plpgsql as $$
declare
  delta integer := case when tg_op = 'INSERT' then 1 else -1 end;
  slot smallint := (txid_current() % 16)::smallint;
begin
  -- rows in (org_id) order, so a statement touching several organisations locks them in one order
  if tg_op = 'INSERT' then
    insert into directory_counts (org_id, kind, shard, n)
    select org_id, tg_argv[0], slot, count(*) * delta from changed group by org_id order by org_id
    on conflict (org_id, kind, shard) do update set n = directory_counts.n + excluded.n;
  else
    insert into directory_counts (org_id, kind, shard, n)
    select org_id, tg_argv[0], slot, count(*) * delta from changed
    where exists (select 1 from orgs o where o.id = changed.org_id) group by org_id order by org_id
    on conflict (org_id, kind, shard) do update set n = directory_counts.n + excluded.n;
  end if;
  return null;
end $$;
