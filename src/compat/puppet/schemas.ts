import { Type } from "typebox";

// Puppet Enterprise RBAC v1/v2 shapes (help.puppet.com RBAC API; peers.md §A3).

const Uuid = Type.String({ format: "uuid" });
const RoleIds = Type.Array(Type.Integer({ minimum: 1 }), {
  maxItems: 1000,
  description: "Integer role ids (the `num` of Gatehouse roles; `GET /v1/roles` shows them)",
});

const CreateFields = {
  login: Type.String({ minLength: 1, maxLength: 1024, description: "The directory group: its name or its DN" }),
  role_ids: RoleIds,
  display_name: Type.Optional(Type.String({ maxLength: 255 })),
  identity_provider_id: Type.Optional(Type.Union([Uuid, Type.Null()], { description: "The LDAP identity source" })),
  validate: Type.Optional(
    Type.Boolean({ description: "Check the group exists in LDAP before creating it (default true)" }),
  ),
};

/** `POST /v2/groups` and `POST /v1/command/groups/create`. */
export const CreateGroupBody = Type.Object(CreateFields, { additionalProperties: false, title: "PuppetNewGroup" });

/** `PUT /v1/groups/{id}`: the whole group as read; only `role_ids` is applied. */
export const ReplaceGroupBody = Type.Object(
  { id: Type.Optional(Type.String()), role_ids: RoleIds },
  { additionalProperties: true, title: "PuppetGroupReplace" },
);

export const RoleGroupsBody = Type.Object(
  { role_id: Type.Integer({ minimum: 1 }), group_ids: Type.Array(Uuid, { maxItems: 10_000 }) },
  { additionalProperties: false, title: "PuppetRoleGroups" },
);

export const PuppetGroup = Type.Object(
  {
    id: Uuid,
    login: Type.String(),
    display_name: Type.String(),
    role_ids: Type.Array(Type.Integer()),
    is_group: Type.Literal(true),
    is_remote: Type.Boolean(),
    is_superuser: Type.Literal(false),
    is_revoked: Type.Boolean(),
    user_ids: Type.Array(Uuid),
    identity_provider_id: Type.Union([Uuid, Type.Null()]),
  },
  { title: "PuppetGroup" },
);

export const IdParams = Type.Object({ id: Type.String({ format: "uuid" }) });
export const IdFilterQuery = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 40_000, description: "Comma-separated group ids" })),
});
