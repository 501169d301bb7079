-- Directory: exact group and user totals per organisation without counting rows on every page.
-- Statement-level triggers keep the counts in the same transaction as every insert and delete,
-- whatever the path (services, bulk imports). Each statement adds to one of 16 shards picked at
-- random, so concurrent creations do not queue on one counter row. Forward-only.

create table directory_counts (
  org_id uuid not null references orgs (id) on delete cascade,
  kind   text not null check (kind in ('group', 'user')),
  shard  smallint not null,
  n      bigint not null,
  primary key (org_id, kind, shard)
);

insert into directory_counts (org_id, kind, shard, n)
select org_id, 'group', 0, count(*) from groups group by org_id;
insert into directory_counts (org_id, kind, shard, n)
select org_id, 'user', 0, count(*) from users group by org_id;

create function directory_count_rows() returns trigger language plpgsql as $$
declare
  delta integer := case when tg_op = 'INSERT' then 1 else -1 end;
begin
  if tg_op = 'INSERT' then
    insert into directory_counts (org_id, kind, shard, n)
    select org_id, tg_argv[0], floor(random() * 16)::smallint, count(*) * delta from changed group by org_id
    on conflict (org_id, kind, shard) do update set n = directory_counts.n + excluded.n;
  else
    insert into directory_counts (org_id, kind, shard, n)
    select org_id, tg_argv[0], floor(random() * 16)::smallint, count(*) * delta from changed
    where exists (select 1 from orgs o where o.id = changed.org_id) group by org_id
    on conflict (org_id, kind, shard) do update set n = directory_counts.n + excluded.n;
  end if;
  return null;
end $$;

create trigger groups_counted_insert after insert on groups
  referencing new table as changed for each statement execute function directory_count_rows('group');
create trigger groups_counted_delete after delete on groups
  referencing old table as changed for each statement execute function directory_count_rows('group');
create trigger users_counted_insert after insert on users
  referencing new table as changed for each statement execute function directory_count_rows('user');
create trigger users_counted_delete after delete on users
  referencing old table as changed for each statement execute function directory_count_rows('user');
