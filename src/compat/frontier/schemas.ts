import { Type } from "typebox";

// Frontier v1beta1 REST shapes (raystack/proton `frontier/v1beta1`, grpc-gateway JSON names).

const Json = Type.Record(Type.String(), Type.Unknown());

/** Frontier's group name rule on create and update: `^[A-Za-z0-9_-]+$`, at least 2 characters. */
const GroupName = Type.String({
  minLength: 2,
  maxLength: 255,
  pattern: "^[A-Za-z0-9_-]+$",
  description: "Letters, digits, `-` and `_`; unique in the organisation",
});

/** `GroupRequestBody`: the body of CreateGroup and UpdateGroup. */
export const GroupRequestBody = Type.Object(
  {
    name: GroupName,
    title: Type.Optional(Type.String({ maxLength: 255, description: "Human-readable name; any UTF-8" })),
    metadata: Type.Optional(Json),
  },
  { additionalProperties: false, title: "FrontierGroupRequestBody" },
);

export const FrontierUser = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    title: Type.String(),
    email: Type.String(),
    metadata: Json,
    created_at: Type.String(),
    updated_at: Type.String(),
    state: Type.String(),
    avatar: Type.String(),
  },
  { title: "FrontierUser" },
);

export const FrontierGroup = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    title: Type.String(),
    org_id: Type.String(),
    metadata: Json,
    created_at: Type.String(),
    updated_at: Type.String(),
    users: Type.Optional(Type.Array(FrontierUser)),
    members_count: Type.Optional(Type.Integer()),
  },
  { title: "FrontierGroup" },
);

export const GroupResponse = Type.Object({ group: FrontierGroup }, { title: "FrontierGroupResponse" });
export const GroupsResponse = Type.Object({ groups: Type.Array(FrontierGroup) }, { title: "FrontierGroupsResponse" });
export const Empty = Type.Object({}, { title: "FrontierEmpty" });

/** `AddGroupUsersRequest` body: the users to add as members. */
export const AddGroupUsersBody = Type.Object(
  { user_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 10_000 })) },
  { title: "FrontierAddGroupUsersRequest" },
);

export const FrontierRole = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    title: Type.String(),
    permissions: Type.Array(Type.String()),
    scopes: Type.Array(Type.String()),
  },
  { title: "FrontierRole" },
);

export const GroupUsersResponse = Type.Object(
  {
    users: Type.Array(FrontierUser),
    role_pairs: Type.Array(Type.Object({ user_id: Type.String(), roles: Type.Array(FrontierRole) })),
  },
  { title: "FrontierListGroupUsersResponse" },
);

/** `org_id`: the organisation's id or name (Frontier accepts both). */
export const OrgParams = Type.Object({
  org_id: Type.String({ minLength: 1, maxLength: 255, description: "Organisation id or name" }),
});
export const OrgGroupParams = Type.Object({
  org_id: Type.String({ minLength: 1, maxLength: 255, description: "Organisation id or name" }),
  id: Type.String({ format: "uuid", description: "Group id" }),
});
export const OrgGroupUserParams = Type.Object({
  org_id: Type.String({ minLength: 1, maxLength: 255 }),
  id: Type.String({ format: "uuid" }),
  user_id: Type.String({ format: "uuid" }),
});

export const ListGroupsQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal("enabled"), Type.Literal("disabled")])),
  group_ids: Type.Optional(Type.Array(Type.String({ format: "uuid" }), { maxItems: 1000 })),
  with_members: Type.Optional(Type.Boolean()),
  with_member_count: Type.Optional(Type.Boolean()),
});
export const WithMembersQuery = Type.Object({ with_members: Type.Optional(Type.Boolean()) });
export const UserGroupsQuery = Type.Object({
  org_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Organisation id or name" })),
  with_member_count: Type.Optional(Type.Boolean()),
});

/** `OrganizationRequestBody`: CreateOrganization and UpdateOrganization (name rule as the SDK documents it). */
export const OrgRequestBody = Type.Object(
  {
    name: Type.String({
      minLength: 2,
      maxLength: 255,
      pattern: "^[A-Za-z0-9_-]+$",
      description: "Letters, digits, `-` and `_`; unique in the instance",
    }),
    title: Type.Optional(Type.String({ maxLength: 255 })),
    metadata: Type.Optional(Json),
    avatar: Type.Optional(Type.String({ maxLength: 3_000_000, description: "Not stored: a non-empty avatar is 501" })),
  },
  { additionalProperties: false, title: "FrontierOrganizationRequestBody" },
);

export const FrontierOrganization = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    title: Type.String(),
    metadata: Json,
    created_at: Type.String(),
    updated_at: Type.String(),
    state: Type.String(),
    avatar: Type.String(),
  },
  { title: "FrontierOrganization" },
);
export const OrganizationResponse = Type.Object(
  { organization: FrontierOrganization },
  { title: "FrontierOrganizationResponse" },
);
export const OrganizationsResponse = Type.Object(
  { organizations: Type.Array(FrontierOrganization) },
  { title: "FrontierOrganizationsResponse" },
);
export const CurrentUserOrganizationsResponse = Type.Object(
  { organizations: Type.Array(FrontierOrganization), joinable_via_domain: Type.Array(FrontierOrganization) },
  { title: "FrontierListOrganizationsByCurrentUserResponse" },
);
export const ListOrganizationsQuery = Type.Object({
  user_id: Type.Optional(Type.String({ format: "uuid" })),
  state: Type.Optional(Type.Union([Type.Literal("enabled"), Type.Literal("disabled"), Type.Literal("")])),
  page_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  page_num: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
});
export const StateQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal("enabled"), Type.Literal("disabled"), Type.Literal("")])),
});
export const OrgIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 255, description: "Organisation id or name" }),
});
export const OrgUsersQuery = Type.Object({
  permission_filter: Type.Optional(Type.String({ maxLength: 255, description: "Not served: non-empty is 501" })),
  with_roles: Type.Optional(Type.Boolean()),
  role_filters: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 100 })),
});
export const OrgUsersResponse = Type.Object(
  {
    users: Type.Array(FrontierUser),
    role_pairs: Type.Array(Type.Object({ user_id: Type.String(), roles: Type.Array(FrontierRole) })),
  },
  { title: "FrontierListOrganizationUsersResponse" },
);
export const FrontierServiceUser = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    metadata: Json,
    created_at: Type.String(),
    updated_at: Type.String(),
    state: Type.String(),
    org_id: Type.String(),
  },
  { title: "FrontierServiceUser" },
);
export const CurrentUserResponse = Type.Object(
  { user: Type.Optional(FrontierUser), serviceuser: Type.Optional(FrontierServiceUser) },
  { title: "FrontierGetCurrentUserResponse" },
);

/** `MetaSchemaRequestBody`: `schema` is the JSON Schema as a JSON string, as in Frontier. */
export const MetaSchemaRequestBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: "^[A-Za-z0-9_-]+$" }),
    schema: Type.String({ minLength: 1, maxLength: 1_000_000, description: "A JSON Schema object, as JSON text" }),
  },
  { additionalProperties: false, title: "FrontierMetaSchemaRequestBody" },
);
export const FrontierMetaSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    schema: Type.String(),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { title: "FrontierMetaSchema" },
);
export const MetaSchemaResponse = Type.Object(
  { metaschema: FrontierMetaSchema },
  { title: "FrontierMetaSchemaResponse" },
);
export const MetaSchemasResponse = Type.Object(
  { metaschemas: Type.Array(FrontierMetaSchema) },
  { title: "FrontierMetaSchemasResponse" },
);
export const MetaSchemaParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 255, description: "Metaschema id (or name, as Frontier's get)" }),
});
