import { Type } from "typebox";
import { CreateRoleBody } from "../../directory/directory.schemas.ts";

const Name = Type.String({ minLength: 1, maxLength: 767 });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Member = Type.Object(
  {
    name: Name,
    isAdmin: Type.Optional(
      Type.Union([Type.Boolean(), Type.Null()], {
        description: "The member administers the role: it may grant and revoke it (WITH ADMIN OPTION)",
      }),
    ),
  },
  { additionalProperties: true },
);
const Members = (what: string) =>
  Type.Optional(Type.Union([Type.Array(Member, { maxItems: 10_000 }), Type.Null()], { description: what }));
const Names = Type.Optional(Type.Union([Type.Array(Name, { maxItems: 10_000 }), Type.Null()]));

const RoleMember = Type.Object({
  name: Type.String(),
  isAdmin: Type.Boolean({ description: "The member administers the role (WITH ADMIN OPTION)" }),
});

/** A role in Ranger's `RangerRole` form, as plugins download it and every role route answers it. */
export const RangerRole = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    description: Type.Optional(Type.String()),
    users: Type.Array(RoleMember),
    groups: Type.Array(RoleMember),
    roles: Type.Array(RoleMember),
  },
  { title: "RangerRole", additionalProperties: true },
);

/** Ranger's `RangerRole` as clients send it (create, replace); `createdByUser` is the SQL user of a plugin's CREATE ROLE. */
export const RoleInput = Type.Object(
  {
    id: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    name: CreateRoleBody.properties.name,
    description: Nullable(Type.String({ maxLength: 4096 })),
    users: Members("Users holding the role (organisation-scope role bindings)"),
    groups: Members("Groups holding the role: their members hold it (organisation-scope role bindings)"),
    roles: Members("Member roles: whoever holds one of them holds this role (they bundle it as a composite)"),
    createdByUser: Type.Optional(
      Type.Union([Name, Type.Null()], {
        description: "The SQL user running CREATE ROLE (a plugin sends it); it must be an administrator",
      }),
    ),
  },
  {
    title: "RangerRoleInput",
    additionalProperties: true,
    description:
      "Ranger's `RangerRole`; other fields (`guid`, `options`, times, ...) are accepted and ignored. A member's `isAdmin: true` makes it an administrator of the role (absent or null: not one): it may grant and revoke the role.",
  },
);

/** The body `RoleInput` validates. */
export type RoleInputT = {
  id?: number | null;
  name: string;
  description?: string | null;
  users?: { name: string; isAdmin?: boolean | null | undefined }[] | null;
  groups?: { name: string; isAdmin?: boolean | null | undefined }[] | null;
  roles?: { name: string; isAdmin?: boolean | null | undefined }[] | null;
  createdByUser?: string | null;
};

/** Ranger's `GrantRevokeRoleRequest`. */
export const GrantRevokeRoleRequest = Type.Object(
  {
    targetRoles: Type.Array(Name, { minItems: 1, maxItems: 1_000, description: "Roles granted or revoked" }),
    users: Names,
    groups: Names,
    roles: Names,
    grantOption: Type.Optional(
      Type.Union([Type.Boolean(), Type.Null()], {
        description:
          "Grant: make the grantees administrators of the roles (WITH ADMIN OPTION). Revoke: take only that away (ADMIN OPTION FOR)",
      }),
    ),
    grantor: Nullable(Type.String({ maxLength: 767 })),
  },
  {
    title: "GrantRevokeRoleRequest",
    additionalProperties: true,
    description:
      "Ranger's `GrantRevokeRoleRequest`: `users`, `groups` and `roles` gain (grant) or lose (revoke) each target role. `grantor` is the SQL user (Ranger's execUser rule); `grantorGroups`, `clientIPAddress`, `clientType`, ... are recorded or ignored.",
  },
);

/** The body of `addUsersAndGroups`, `removeUsersAndGroups` and `removeAdminFromUsersAndGroups`. */
export const UsersAndGroups = Type.Object(
  {
    users: Names,
    groups: Names,
    isAdmin: Type.Optional(
      Type.Union([Type.Boolean(), Type.Null()], {
        description: "addUsersAndGroups: make the named users and groups administrators of the role",
      }),
    ),
  },
  { additionalProperties: false, title: "RangerRoleUsersAndGroups" },
);

/** Ranger's `RESTResponse` on success. */
export const RestResponse = Type.Object(
  { httpStatusCode: Type.Integer(), statusCode: Type.Integer(), messageList: Type.Array(Type.Unknown()) },
  { title: "RESTResponse", additionalProperties: true },
);

const serviceName = Type.Optional(
  Type.String({
    maxLength: 255,
    description: "The plugin's service: a Kerberos caller must be in its `policy.grantrevoke.auth.users`",
  }),
);
const createNonExistUserGroup = Type.Optional(
  Type.Boolean({ description: "Create local users and groups that do not exist instead of refusing them" }),
);

/** Query of create and replace. Ranger's plugins send more parameters over time: the query stays open. */
export const WriteQuery = Type.Object({ serviceName, createNonExistUserGroup }, { additionalProperties: true });

/** Query of the calls a plugin makes for a SQL user (`execUser`). */
export const PluginQuery = Type.Object(
  {
    serviceName,
    execUser: Type.Optional(Type.String({ maxLength: 767, description: "The SQL user the plugin acts for" })),
  },
  { additionalProperties: true },
);

/** Path `{serviceName}` of grant and revoke. */
export const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });

/** Path `{user}` of a user's roles. */
export const UserParams = Type.Object({ user: Type.String({ minLength: 1, maxLength: 767 }) });
