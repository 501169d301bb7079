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
