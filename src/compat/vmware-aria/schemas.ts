import { Type } from "typebox";

// VMware Aria Operations `auth` shapes (developer.broadcom.com vROps / VCF Operations API).

const Link = Type.Object(
  {
    description: Type.Optional(Type.String()),
    href: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    rel: Type.Optional(Type.String()),
  },
  { title: "AriaLink" },
);

const TraversalSpecInstance = Type.Object(
  {
    adapterKind: Type.Optional(Type.String()),
    includedAdapterKinds: Type.Optional(Type.Array(Type.String())),
    name: Type.Optional(Type.String()),
    resourceKind: Type.Optional(Type.String()),
    resourceSelection: Type.Optional(
      Type.Array(
        Type.Object({ resourceId: Type.Optional(Type.Array(Type.String())), type: Type.Optional(Type.String()) }),
      ),
    ),
    selectAllResources: Type.Optional(Type.Boolean()),
  },
  { title: "AriaTraversalSpecInstance" },
);

/** One `role-permission`: a role at a scope (`org`, `service:<name>`, `resource:<selector>`). */
export const RolePermission = Type.Object(
  {
    roleName: Type.String({ minLength: 1, maxLength: 255 }),
    scopeId: Type.Optional(
      Type.Union([Type.String({ maxLength: 2100 }), Type.Null()], {
        description: "`org` (default), `service:<service name>` or `resource:<selector>` (see GET /scopes)",
      }),
    ),
    allowAllObjects: Type.Optional(Type.Boolean()),
    "traversal-spec-instances": Type.Optional(
      Type.Union([Type.Array(TraversalSpecInstance), Type.Null()], {
        description: "Not supported: only an empty list or null is accepted; use a resource scope",
      }),
    ),
    links: Type.Optional(Type.Array(Link)),
  },
  { title: "AriaRolePermission" },
);

const GroupFields = {
  name: Type.String({ minLength: 1, maxLength: 255, description: "The group's name; its DN for an LDAP import" }),
  displayName: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
  authSourceId: Type.Optional(
    Type.Union([Type.String({ format: "uuid" }), Type.Null()], {
      description: "The LDAP identity source to import from; null for a local group",
    }),
  ),
  userIds: Type.Optional(Type.Union([Type.Array(Type.String({ format: "uuid" }), { maxItems: 10_000 }), Type.Null()])),
  "role-permissions": Type.Optional(Type.Union([Type.Array(RolePermission, { maxItems: 1000 }), Type.Null()])),
  roleNames: Type.Optional(
    Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 1000 }), Type.Null()], {
      description: "Deprecated: roles at organisation scope; ignored when `role-permissions` is given",
    }),
  ),
  links: Type.Optional(Type.Array(Link)),
};

/** `user-group` as POSTed: `id` must be absent or null. */
export const CreateUserGroupBody = Type.Object(
  { id: Type.Optional(Type.Null({ description: "Must be null on create" })), ...GroupFields },
  { additionalProperties: false, title: "AriaNewUserGroup" },
);

/** `user-group` as PUT: the whole group with its `id`. */
export const UpdateUserGroupBody = Type.Object(
  { id: Type.String({ format: "uuid" }), ...GroupFields },
  { additionalProperties: false, title: "AriaUserGroupUpdate" },
);

export const UserGroup = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    displayName: Type.String(),
    description: Type.String(),
    authSourceId: Type.Union([Type.String(), Type.Null()]),
    userIds: Type.Array(Type.String()),
    "role-permissions": Type.Array(
      Type.Object({
        roleName: Type.String(),
        scopeId: Type.String(),
        allowAllObjects: Type.Boolean(),
        "traversal-spec-instances": Type.Array(TraversalSpecInstance),
      }),
    ),
    roleNames: Type.Array(Type.String()),
    links: Type.Array(Link),
  },
  { title: "AriaUserGroup" },
);

export const UserGroups = Type.Object({ userGroups: Type.Array(UserGroup) }, { title: "AriaUserGroups" });

export const ListQuery = Type.Object({
  id: Type.Optional(Type.Array(Type.String({ format: "uuid" }), { maxItems: 1000 })),
  name: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 1000 })),
});

export const IdParams = Type.Object({ id: Type.String({ format: "uuid" }) });

export const SearchBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, description: "Group name; `*` wildcards allowed" }),
    domain: Type.Optional(Type.String({ maxLength: 255, description: "SSO domain (ignored for LDAP)" })),
  },
  { additionalProperties: false, title: "AriaUserGroupSearchRequest" },
);

export const SearchResponse = Type.Object(
  {
    userGroups: Type.Array(
      Type.Object({ name: Type.String(), distinguishedName: Type.String(), description: Type.String() }),
    ),
  },
  { title: "AriaUserGroupSearchResponse" },
);

export const AuthSources = Type.Object(
  {
    sources: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        sourceType: Type.Object({ id: Type.String(), name: Type.String(), description: Type.String() }),
        property: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })),
        created: Type.Integer(),
        lastModified: Type.Integer(),
        links: Type.Array(Link),
      }),
    ),
  },
  { title: "AriaAuthSources" },
);

export const AriaRole = Type.Object(
  {
    name: Type.String(),
    displayName: Type.String(),
    description: Type.String(),
    "privilege-keys": Type.Array(Type.String()),
    "system-created": Type.Boolean(),
  },
  { title: "AriaRole" },
);

export const AriaScope = Type.Object(
  { id: Type.String(), name: Type.String(), description: Type.String() },
  { title: "AriaScope" },
);
