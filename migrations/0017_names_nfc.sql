-- Names stored before the NFC rule (docs/input-rules.md, "Names"), brought under it: every name the
-- rule covers (organisations, users, groups, roles, service accounts, services, policies, security
-- zones) and every principal name a policy or a zone names is rewritten to Unicode NFC. Only rows
-- whose name is not NFC are written, so on a database that never held such a name this migration
-- reads each table once and writes nothing. Forward-only: never edit once released.
--
-- Two rows that become one name (`Café` written composed and decomposed, or `CAFÉ` and a
-- decomposed `café` where names ignore case) are never merged: the row already spelled in NFC keeps
-- the name, since every lookup by name already finds it (lookups normalise their input); among
-- rows none of which is NFC, the oldest keeps it (created_at, then id). Every other row of the set
-- is renamed `<name>-nfc-<8 hex of its id>` (the whole id when even that is taken), and every
-- policy item and zone list that spelled its old name exactly now names it by its new one, so a
-- policy keeps meaning the entity it meant. Each change is an audit event (actor `system`,
-- request id `migration-0017`): `name.normalised`, `name.collision_renamed` (with the entity that
-- kept the name), `policy.names_normalised` (the body before and after), and one
-- `names.normalised` summary (none when nothing was found). Names holding an invisible or
-- bidirectional-control character are left as they are (removing the character could turn one
-- into another entity's name, or change what a policy names) and reported as
-- `name.invisible_characters`, so an administrator can rename them. docs/input-rules.md.

-- What this migration changes, one row per renamed entity; dropped at the end.
create table migration_0017_renames (
  kind      text not null,
  scope_key text not null,
  entity_id text not null,
  org_id    uuid,
  old_name  text not null,
  new_name  text not null,
  -- the entity that kept the name, for a row renamed because of a collision
  kept_id   text,
  kept_name text
);
create index migration_0017_renames_old on migration_0017_renames (kind, old_name);

-- Normalises the names of one table. `scope` is the SQL text of the uniqueness scope of a row
-- (alias `t`), `fold` whether uniqueness ignores case (a `lower(name)` index), `org` the SQL text
-- of the row's organisation (or null).
create function migration_0017_normalise(kind text, tbl text, col text, scope text, fold boolean, org text)
returns void language plpgsql as $fn$
declare
  key_of text := case when fold then 'lower(normalize(t.%1$I, NFC))' else 'normalize(t.%1$I, NFC)' end;
  match_new text := case when fold then 'lower(t.%1$I) = lower(r2.new_name)' else 't.%1$I = r2.new_name' end;
  taken text[];
  -- the id column's type, so a rename finds its row through the primary key
  id_type text := (select format_type(a.atttypid, a.atttypmod) from pg_attribute a
                   where a.attrelid = tbl::regclass and a.attname = 'id');
begin
  key_of := format(key_of, col);
  match_new := format(match_new, col);
  -- The changed rows: every name that is not NFC and every row sharing its key after NFC.
  execute format($q$
    insert into migration_0017_renames (kind, scope_key, entity_id, org_id, old_name, new_name, kept_id, kept_name)
    with touched as (
      select distinct %3$s as scope_key, %4$s as k from %2$I t where not (t.%1$I is nfc normalized)
    ), ranked as (
      select x.scope_key, t.id::text as id, %5$s as org_id, t.%1$I as name, normalize(t.%1$I, NFC) as nfc,
             row_number() over w as rank, first_value(t.id::text) over w as kept_id,
             first_value(normalize(t.%1$I, NFC)) over w as kept_name
      from %2$I t join touched x on x.scope_key = %3$s and x.k = %4$s
      window w as (partition by x.scope_key, x.k order by (t.%1$I is nfc normalized) desc, t.created_at, t.id)
    )
    select %6$L, scope_key, id, org_id, name,
           case when rank = 1 then nfc
                else left(nfc, 255 - 13) || '-nfc-' || left(replace(id, '-', ''), 8) end,
           case when rank = 1 then null else kept_id end,
           case when rank = 1 then null else kept_name end
    from ranked where rank > 1 or name <> nfc$q$, col, tbl, scope, key_of, coalesce(org, 'null::uuid'), kind);
  analyze migration_0017_renames;

  -- A suffixed name already taken takes the whole id; if even that is taken, the migration stops
  -- rather than guess. A name is taken when a row keeps it (a row already NFC: compared as stored,
  -- one hash join over the table) or another rename chose it.
  for attempt in 1..2 loop
    execute format($q$
      select array_agg(r.entity_id) from migration_0017_renames r
      where r.kind = %4$L and r.kept_id is not null and (
        r.entity_id in (select r2.entity_id from migration_0017_renames r2 join %2$I t
                        on %3$s = r2.scope_key and %1$s and t.id::text <> r2.entity_id
                        where r2.kind = %4$L and r2.kept_id is not null and (t.%5$I is nfc normalized))
        or r.entity_id in (select r2.entity_id from migration_0017_renames r2 join migration_0017_renames o
                           on o.kind = r2.kind and o.scope_key = r2.scope_key and o.entity_id <> r2.entity_id
                           and %6$s
                           where r2.kind = %4$L and r2.kept_id is not null))$q$,
      match_new, tbl, scope, kind, col,
      case when fold then 'lower(o.new_name) = lower(r2.new_name)' else 'o.new_name = r2.new_name' end)
      into taken;
    exit when taken is null;
    if attempt = 2 then
      raise exception 'migration 0017: % % renamed for a name collision would still collide: %',
        cardinality(taken), kind, taken;
    end if;
    update migration_0017_renames r
    set new_name = left(normalize(r.old_name, NFC), 255 - 38) || '-nfc-' || replace(r.entity_id, '-', '')
    where r.kind = migration_0017_normalise.kind and r.entity_id = any (taken);
  end loop;

  -- Renamed rows first, so the row keeping a name never meets its old holder in the unique index.
  execute format($q$
    update %2$I t set %1$I = r.new_name, updated_at = now()
    from migration_0017_renames r where r.kind = %3$L and r.kept_id is not null and t.id = r.entity_id::%4$s$q$,
    col, tbl, kind, id_type);
  execute format($q$
    update %2$I t set %1$I = r.new_name, updated_at = now()
    from migration_0017_renames r where r.kind = %3$L and r.kept_id is null and t.id = r.entity_id::%4$s$q$,
    col, tbl, kind, id_type);
end $fn$;

-- Zones first: policies name their zone by name, and policy names are unique per zone.
select migration_0017_normalise('org', 'orgs', 'name', '''''', true, 't.id');
select migration_0017_normalise('user', 'users', 'username', 't.org_id::text', true, 't.org_id');
select migration_0017_normalise('group', 'groups', 'name', 't.org_id::text', true, 't.org_id');
select migration_0017_normalise('role', 'roles', 'name', 'coalesce(t.org_id::text, '''')', true, 't.org_id');
select migration_0017_normalise('service_account', 'service_accounts', 'name', 't.org_id::text', true, 't.org_id');
select migration_0017_normalise('service', 'services', 'name', '''''', false, null);
select migration_0017_normalise('zone', 'security_zones', 'name', '''''', true, null);

-- A policy's zone follows its zone's new name (column and body).
update policies p set zone_name = r.new_name, body = jsonb_set(p.body, '{zoneName}', to_jsonb(r.new_name))
from migration_0017_renames r
where r.kind = 'zone' and p.zone_name = r.old_name;

select migration_0017_normalise('policy', 'policies', 'name', 't.service_id::text || ''/'' || t.zone_name', false, null);
update policies p set body = jsonb_set(p.body, '{name}', to_jsonb(p.name))
from migration_0017_renames r
where r.kind = 'policy' and p.id = r.entity_id::integer;

-- Principal names as a policy item or a zone list spells them: a name some entity held exactly
-- becomes that entity's new name (several when entities of several organisations held it, so the
-- item keeps naming each of them); any other name becomes its NFC spelling. Order is kept and a
-- name the rewrite makes twice is kept once.
create function migration_0017_principals(names text[], principal_kind text) returns text[]
language sql stable as $fn$
  select coalesce(array_agg(v order by pos), '{}')
  from (
    select v, min(pos) as pos
    from (
      select coalesce(m.new_name, normalize(e.n, NFC)) as v, e.pos * 1000 + coalesce(m.k, 0) as pos
      from unnest(names) with ordinality as e (n, pos)
      left join (
        select old_name, new_name, row_number() over (partition by old_name order by new_name) as k
        from (select distinct old_name, new_name from migration_0017_renames where kind = principal_kind) d
      ) m on m.old_name = e.n
    ) x
    group by v
  ) y
$fn$;

create function migration_0017_items(items jsonb) returns jsonb language sql stable as $fn$
  select coalesce(jsonb_agg(
    case when jsonb_typeof(i) <> 'object' then i
      else i
        || case when jsonb_typeof(i -> 'users') = 'array' then jsonb_build_object('users', to_jsonb(
             migration_0017_principals(array(select jsonb_array_elements_text(i -> 'users')), 'user'))) else '{}' end
        || case when jsonb_typeof(i -> 'groups') = 'array' then jsonb_build_object('groups', to_jsonb(
             migration_0017_principals(array(select jsonb_array_elements_text(i -> 'groups')), 'group'))) else '{}' end
        || case when jsonb_typeof(i -> 'roles') = 'array' then jsonb_build_object('roles', to_jsonb(
             migration_0017_principals(array(select jsonb_array_elements_text(i -> 'roles')), 'role'))) else '{}' end
    end order by pos), '[]')
  from jsonb_array_elements(items) with ordinality as a (i, pos)
$fn$;

-- The policies whose items name a principal in a spelling that is not NFC (the denormalised
-- columns list every name of every item), rewritten with a new policy version.
create table migration_0017_policies (
  id         integer primary key,
  service_id integer not null,
  before     jsonb not null
);
insert into migration_0017_policies (id, service_id, before)
select p.id, p.service_id, p.body from policies p
where not (array_to_string(p.users || p.groups || p.roles, ',') is nfc normalized);
analyze migration_0017_policies;

update policies p set
  body = p.body
    || (select coalesce(jsonb_object_agg(l, migration_0017_items(p.body -> l)), '{}')
        from unnest(array['policyItems', 'denyPolicyItems', 'allowExceptions', 'denyExceptions',
                          'dataMaskPolicyItems', 'rowFilterPolicyItems']) as l
        where jsonb_typeof(p.body -> l) = 'array'),
  users = migration_0017_principals(p.users, 'user'),
  groups = migration_0017_principals(p.groups, 'group'),
  roles = migration_0017_principals(p.roles, 'role')
from migration_0017_policies m where m.id = p.id;

-- Policies whose zone or name changed are new versions too.
insert into migration_0017_policies (id, service_id, before)
select p.id, p.service_id, p.body from policies p
where (p.zone_name in (select new_name from migration_0017_renames where kind = 'zone')
       or p.id in (select entity_id::integer from migration_0017_renames where kind = 'policy'))
  and not exists (select 1 from migration_0017_policies m where m.id = p.id);

update policies p set version = p.version + 1, updated_by = 'system', updated_at = now()
from migration_0017_policies m where m.id = p.id;

insert into policy_versions (policy_id, version, service_id, change_type, body, changed_by)
select p.id, p.version, p.service_id, 1, p.body, 'system'
from policies p join migration_0017_policies m on m.id = p.id
on conflict (policy_id, version) do nothing;

-- The services' policy version moves without a delta, so live engines and plugins, finding a gap
-- in the delta log, download the policies again (as migration 0006 does); a tag service's
-- change moves every service linked to it.
update services s set policy_version = s.policy_version + 1, policy_update_time = now()
where s.id in (select service_id from migration_0017_policies)
   or s.tag_service_id in (select service_id from migration_0017_policies);

-- Security zones' administrators and auditors.
update security_zones z set
  admin_users = migration_0017_principals(z.admin_users, 'user'),
  admin_user_groups = migration_0017_principals(z.admin_user_groups, 'group'),
  admin_roles = migration_0017_principals(z.admin_roles, 'role'),
  audit_users = migration_0017_principals(z.audit_users, 'user'),
  audit_user_groups = migration_0017_principals(z.audit_user_groups, 'group'),
  audit_roles = migration_0017_principals(z.audit_roles, 'role')
where not (array_to_string(z.admin_users || z.admin_user_groups || z.admin_roles || z.audit_users
                           || z.audit_user_groups || z.audit_roles, ',') is nfc normalized);

-- Nx1 tag-role associations name their role; one already held under the new spelling stays.
update tag_role_associations a set role = (migration_0017_principals(array[a.role], 'role'))[1]
where not (a.role is nfc normalized)
  and not exists (select 1 from tag_role_associations b
                  where b.tag = a.tag and b.role = (migration_0017_principals(array[a.role], 'role'))[1]);

-- The audit trail of every change, and of the names that hold invisible characters.
insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id, org_id,
                          before, after, request_id)
select 'anonymous', 'system', 'system', 'none',
       case when r.kept_id is null then 'name.normalised' else 'name.collision_renamed' end,
       r.kind, r.entity_id, r.org_id, jsonb_build_object('name', r.old_name),
       jsonb_build_object('name', r.new_name)
         || case when r.kept_id is null then '{}'::jsonb
                 else jsonb_build_object('keptBy', jsonb_build_object('id', r.kept_id, 'name', r.kept_name)) end,
       'migration-0017'
from migration_0017_renames r
order by r.kind, r.kept_id is not null, r.entity_id;

insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id,
                          before, after, request_id)
select 'anonymous', 'system', 'system', 'none', 'policy.names_normalised', 'policy', p.id::text,
       m.before, p.body, 'migration-0017'
from migration_0017_policies m join policies p on p.id = m.id
order by p.id;

create table migration_0017_invisible (kind text, entity_id text, org_id uuid, name text);
insert into migration_0017_invisible
  select 'org', id::text, id, name from orgs
    where name ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'user', id::text, org_id, username from users
    where username ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'group', id::text, org_id, name from groups
    where name ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'role', id::text, org_id, name from roles
    where name ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'service_account', id::text, org_id, name from service_accounts
    where name ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'service', id::text, null, name from services
    where name ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'zone', id::text, null, name from security_zones
    where name ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'policy', id::text, null, name from policies
    where name ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'
  union all select 'policy_principal', id::text, null, x from policies, unnest(users || groups || roles) as x
    where x ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]';

insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id, org_id,
                          after, request_id)
select 'anonymous', 'system', 'system', 'none', 'name.invisible_characters',
       case when kind = 'policy_principal' then 'policy' else kind end, entity_id, org_id,
       jsonb_build_object('name', name, 'codePoints',
         (select jsonb_agg(to_hex(ascii(c))) from regexp_split_to_table(name, '') as c
          where c ~ '[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]'))
       || case when kind = 'policy_principal' then '{"principal": true}'::jsonb else '{}' end,
       'migration-0017'
from migration_0017_invisible
order by kind, entity_id, name;

insert into audit_events (actor_type, actor_id, actor_name, auth_method, action, target_type, target_id,
                          after, request_id)
select 'anonymous', 'system', 'system', 'none', 'names.normalised', 'migration', '0017',
       jsonb_build_object(
         'normalised', (select count(*) from migration_0017_renames where kept_id is null),
         'collisionRenamed', (select count(*) from migration_0017_renames where kept_id is not null),
         'policiesRewritten', (select count(*) from migration_0017_policies),
         'invisible', (select count(*) from migration_0017_invisible)),
       'migration-0017'
-- a database that never held such a name gets no event at all
where exists (select 1 from migration_0017_renames) or exists (select 1 from migration_0017_policies)
   or exists (select 1 from migration_0017_invisible);

drop function migration_0017_items(jsonb);
drop function migration_0017_principals(text[], text);
drop function migration_0017_normalise(text, text, text, text, boolean, text);
drop table migration_0017_invisible;
drop table migration_0017_policies;
drop table migration_0017_renames;
