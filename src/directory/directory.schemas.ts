import { Type } from "typebox";
import { BATCH_MAX } from "./members.service.ts";

// Request and response schemas of the directory routes: the source of the OpenAPI document.

const Uuid = Type.String({ format: "uuid" });
const Time = Type.String({ format: "date-time" });
const Json = Type.Record(Type.String(), Type.Unknown());
const Source = Type.Union(
  [
    Type.Literal("local"),
    Type.Literal("ldap"),
    Type.Literal("oidc"),
    Type.Literal("scim"),
    Type.Literal("ranger-usersync"),
  ],
  { description: "Where the entry comes from (`ranger-usersync`: pushed by Ranger usersync, docs/compat.md)" },
);

/** `orgId` query parameter: which organisation to work in (default: the caller's, else `default`). */
export const OrgQuery = Type.Object({
  orgId: Type.Optional(
    Type.String({ format: "uuid", description: "Organisation; default the caller's, else `default`" }),
  ),
});

export const Org = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    title: Type.String(),
    metadata: Json,
    groupNamePattern: Type.Union([Type.String(), Type.Null()], {
      description: "Stricter group-name pattern on top of the built-in rules; null = built-in rules only",
    }),
    groupMaxDepth: Type.Integer({ description: "Deepest group hierarchy allowed, in levels" }),
    createdAt: Time,
    updatedAt: Time,
  },
  { title: "Org" },
);

const OrgFields = {
  title: Type.Optional(Type.String({ maxLength: 255 })),
  metadata: Type.Optional(Json),
  groupNamePattern: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()], {
      description: "Regular expression group names must also match, e.g. `^[A-Za-z0-9_-]+$`",
    }),
  ),
  groupMaxDepth: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "Default 32" })),
};

export const CreateOrgBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" }), ...OrgFields },
  { additionalProperties: false },
);
export const UpdateOrgBody = Type.Object(OrgFields, { additionalProperties: false });

export const User = Type.Object(
  {
    id: Uuid,
    orgId: Uuid,
    username: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    displayName: Type.Union([Type.String(), Type.Null()]),
    status: Type.Union([Type.Literal("active"), Type.Literal("disabled")]),
    attributes: Json,
    source: Source,
    externalId: Type.Union([Type.String(), Type.Null()]),
    createdAt: Time,
    updatedAt: Time,
  },
  { title: "User" },
);

const UserFields = {
  email: Type.Optional(Type.Union([Type.String({ format: "email", maxLength: 320 }), Type.Null()])),
  displayName: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("disabled")])),
  attributes: Type.Optional(Json),
  source: Type.Optional(Source),
  externalId: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
};
const Username = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: "^[^\\s/\\\\]+$",
  description: "Unique in the organisation, compared case-insensitively; no spaces, `/` or `\\`",
});

export const CreateUserBody = Type.Object(
  { orgId: Type.Optional(Uuid), username: Username, ...UserFields },
  { additionalProperties: false },
);
export const UpdateUserBody = Type.Object(
  { username: Type.Optional(Username), ...UserFields },
  { additionalProperties: false },
);

export const Group = Type.Object(
  {
    id: Uuid,
    orgId: Uuid,
    name: Type.String(),
    title: Type.String(),
    description: Type.String(),
    parentId: Type.Union([Uuid, Type.Null()]),
    metadata: Json,
    source: Source,
    externalId: Type.Union([Type.String(), Type.Null()], { description: "An LDAP DN, an OIDC group claim" }),
    identitySourceId: Type.Union([Uuid, Type.Null()]),
    createdAt: Time,
    updatedAt: Time,
  },
  { title: "Group" },
);

const GroupName = Type.String({
  minLength: 1,
  maxLength: 255,
  description:
    "1 to 255 characters, no `/`, no control characters, no leading or trailing space; unique in the organisation case-insensitively; the organisation may set a stricter pattern",
});

export const CreateGroupBody = Type.Object(
  {
    orgId: Type.Optional(Uuid),
    name: GroupName,
    title: Type.Optional(Type.String({ maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    parentId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    metadata: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: "Checked against the organisation's group metaschema",
      }),
    ),
    source: Type.Optional(Source),
    externalId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()])),
    identitySourceId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    validate: Type.Optional(
      Type.Boolean({ description: "With identitySourceId: check that externalId (a DN) exists first. Default true" }),
    ),
  },
  { additionalProperties: false },
);

export const UpdateGroupBody = Type.Object(
  {
    name: Type.Optional(GroupName),
    title: Type.Optional(Type.String({ maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    parentId: Type.Optional(Type.Union([Uuid, Type.Null()], { description: "New parent; null moves to the top" })),
    metadata: Type.Optional(Json),
  },
  { additionalProperties: false },
);

const Search = {
  prefix: Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: "Name starts with (case-insensitive)" }),
  ),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Name contains (case-insensitive)" })),
  source: Type.Optional(Source),
};

const ExactName = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 255, description }));

export const GroupListQuery = Type.Object({
  ...Search,
  name: ExactName("Exactly this name (case-insensitive, as names are unique that way): zero or one group"),
  parentId: Type.Optional(
    Type.String({
      pattern: "^(root|[0-9a-fA-F-]{36})$",
      description: "Children of this group; `root` for top-level groups",
    }),
  ),
  metadata: Type.Optional(
    Type.String({
      pattern: "^[^:]+:.*$",
      description: "`key:value`; a dotted key reaches into objects (`labels.team:data`)",
    }),
  ),
});

export const UserListQuery = Type.Object({
  ...Search,
  username: ExactName("Exactly this username (case-insensitive, as usernames are unique that way): zero or one user"),
  status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("disabled")])),
  attribute: Type.Optional(
    Type.String({
      pattern: "^[^:]+:.*$",
      description: "`key:value` over attributes; a dotted key reaches into objects",
    }),
  ),
});

export const EffectiveQuery = Type.Object({
  effective: Type.Boolean({
    default: true,
    description: "Include what comes through the hierarchy (and composite roles)",
  }),
});

export const MemberRoleSchema = Type.Union([Type.Literal("owner"), Type.Literal("member")]);

export const UserGroup = Type.Object(
  {
    group: Group,
    direct: Type.Boolean({ description: "False when the user is only in a subgroup" }),
    role: Type.Union([MemberRoleSchema, Type.Null()], { description: "Role in the group when direct" }),
  },
  { title: "UserGroup" },
);

export const Member = Type.Object(
  {
    user: User,
    direct: Type.Boolean({ description: "False when the user is only in a subgroup" }),
    role: Type.Union([MemberRoleSchema, Type.Null()], { description: "Role in this group when direct" }),
  },
  { title: "Member" },
);

export const Membership = Type.Object({ groupId: Uuid, userId: Uuid, role: MemberRoleSchema }, { title: "Membership" });

export const BatchBody = Type.Object(
  {
    add: Type.Optional(
      Type.Array(Uuid, { maxItems: BATCH_MAX, description: `User ids to add (at most ${BATCH_MAX})` }),
    ),
    remove: Type.Optional(
      Type.Array(Uuid, { maxItems: BATCH_MAX, description: `User ids to remove (at most ${BATCH_MAX})` }),
    ),
    role: Type.Optional(MemberRoleSchema),
  },
  { additionalProperties: false },
);

export const BatchResultSchema = Type.Object(
  { added: Type.Integer(), removed: Type.Integer(), unchanged: Type.Integer() },
  { title: "MemberBatchResult" },
);

export const Role = Type.Object(
  {
    id: Uuid,
    num: Type.Integer({ description: "Small stable number (Puppet RBAC numbers roles)" }),
    orgId: Type.Union([Uuid, Type.Null()], { description: "Null for built-in roles" }),
    name: Type.String(),
    description: Type.String(),
    permissions: Type.Array(Type.String()),
    builtin: Type.Boolean(),
    composites: Type.Array(Uuid, { description: "Roles this one bundles directly" }),
    administers: Type.Array(Uuid, {
      description:
        "Among `composites`, the roles this role's direct users and groups administer (Ranger: an admin member role)",
    }),
    createdAt: Time,
    updatedAt: Time,
  },
  { title: "Role" },
);

const RoleFields = {
  description: Type.Optional(Type.String({ maxLength: 4096 })),
  permissions: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 1000 })),
  composites: Type.Optional(Type.Array(Uuid, { maxItems: 1000, description: "Roles to bundle; cycles are refused" })),
  administers: Type.Optional(
    Type.Array(Uuid, {
      maxItems: 1000,
      description:
        "Replaces the list of composites this role's direct users and groups administer (Ranger: an admin member role); each must be among `composites`",
    }),
  ),
};
const RoleName = Type.String({ minLength: 1, maxLength: 255, pattern: "^[^\\s/]+$" });
export const CreateRoleBody = Type.Object(
  { orgId: Type.Optional(Uuid), name: RoleName, ...RoleFields },
  { additionalProperties: false },
);
export const UpdateRoleBody = Type.Object(
  { name: Type.Optional(RoleName), ...RoleFields },
  { additionalProperties: false },
);

const PrincipalType = Type.Union([Type.Literal("user"), Type.Literal("group"), Type.Literal("service_account")]);
const ScopeType = Type.Union([Type.Literal("org"), Type.Literal("service"), Type.Literal("resource")]);

export const RoleBinding = Type.Object(
  {
    id: Uuid,
    orgId: Uuid,
    roleId: Uuid,
    principal: Type.Object({ type: PrincipalType, id: Uuid }),
    scope: Type.Object({ type: ScopeType, value: Type.String() }),
    allowAllObjects: Type.Boolean(),
    isAdmin: Type.Boolean({
      description: "Role administrator: may grant and revoke the role (Ranger's `isAdmin`, WITH ADMIN OPTION)",
    }),
    createdAt: Time,
  },
  { title: "RoleBinding" },
);

const RoleAdminFlag = Type.Boolean({
  description:
    "Make the principal an administrator of the role: it may grant and revoke the role through Ranger's role API without `directory.write` (Ranger's `isAdmin`)",
});

export const CreateRoleBindingBody = Type.Object(
  {
    orgId: Type.Optional(Uuid),
    roleId: Uuid,
    principal: Type.Object({ type: PrincipalType, id: Uuid }, { additionalProperties: false }),
    scope: Type.Optional(
      Type.Object(
        {
          type: ScopeType,
          value: Type.Optional(
            Type.String({
              maxLength: 2048,
              description: "Empty for `org`; a service name; a selector like `catalog=sales,schema=*`",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    allowAllObjects: Type.Optional(Type.Boolean({ description: "Every object in scope, now and later (VMware Aria)" })),
    isAdmin: Type.Optional(RoleAdminFlag),
  },
  { additionalProperties: false },
);

/** The body of `PATCH /v1/role-bindings/{id}`: the one field a binding lets change. */
export const UpdateRoleBindingBody = Type.Object({ isAdmin: RoleAdminFlag }, { additionalProperties: false });

export const RoleBindingListQuery = Type.Object({
  roleId: Type.Optional(Uuid),
  principalType: Type.Optional(PrincipalType),
  principalId: Type.Optional(Uuid),
});

export const HeldRoleSchema = Type.Object(
  {
    roleId: Uuid,
    roleName: Type.String(),
    builtin: Type.Boolean(),
    permissions: Type.Array(Type.String()),
    bindingId: Uuid,
    scope: Type.Object({ type: ScopeType, value: Type.String() }),
    allowAllObjects: Type.Boolean(),
    via: Type.Object({
      principal: Type.Object({ type: Type.Union([Type.Literal("user"), Type.Literal("group")]), id: Uuid }),
      roleId: Type.Union([Uuid, Type.Null()], { description: "The composite role that includes this one, if any" }),
    }),
  },
  { title: "HeldRole" },
);

export const Metaschema = Type.Record(Type.String(), Type.Unknown(), {
  title: "Metaschema",
  description: "A JSON Schema (2020-12) that group metadata must satisfy",
});

export const UserGroupParams = Type.Object({ id: Uuid, userId: Uuid });
export const ForceQuery = Type.Object({
  force: Type.Boolean({
    default: false,
    description:
      "Also delete children and memberships, and remove the groups from the policies naming them (each a new policy version), each audited",
  }),
});

/** `?force=true` of the user and role deletes: remove the principal from the policies naming it. */
export const PolicyForceQuery = Type.Object({
  force: Type.Boolean({
    default: false,
    description:
      "Remove the principal from the policies naming it (each a new policy version, audited) instead of refusing with 409 `PRINCIPAL_IN_POLICIES`",
  }),
});
