-- Role administrators (Ranger's `RangerRole.RoleMember.isAdmin`, Hive's `WITH ADMIN OPTION`): a
-- user or group bound to a role, or a role bundling it (Ranger's member role), may be that role's
-- administrator, who may grant and revoke the role through Ranger's role API without holding
-- `directory.write` (docs/plugin-roles.md). A flag of its own on each link rather than a meaning
-- squeezed into an existing column. Forward-only: never edit once released.

-- On a binding: its user, or every effective member of its group, administers the binding's role.
alter table role_bindings add column is_admin boolean not null default false;

-- On a composite link (`role_id` bundles `child_role_id`): the direct users and groups of
-- `role_id` administer `child_role_id` (Ranger: `role_id` is an admin member role of it).
alter table role_composites add column is_admin boolean not null default false;
