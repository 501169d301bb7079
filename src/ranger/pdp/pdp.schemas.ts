import { type Static, type TSchema, Type } from "typebox";

/**
 * Ranger's authorization-API model (`org.apache.ranger.authz.model`) as JSON schemas. Requests
 * accept unknown fields and nulls, as Jackson does (`ignoreUnknown`); answers leave out empty and
 * null fields, as Ranger's `NON_EMPTY` inclusion does. The schemas serialise the answers and
 * feed the OpenAPI document.
 */
const opt = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
const Strings = Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 10_000 });
const Attributes = Type.Record(Type.String(), Type.Unknown());

/** `RangerUserInfo`: the end user; groups, roles and attributes are trusted from delegates only. */
export const UserInfo = Type.Object({
  name: opt(Type.String({ maxLength: 256 })),
  groups: opt(Strings),
  roles: opt(Strings),
  attributes: opt(Attributes),
});

/** `RangerResourceInfo`: a resource name (`table:db1/tbl1`), sub-resources, match scope, attributes. */
export const ResourceInfo = Type.Object({
  name: opt(Type.String({ maxLength: 8192 })),
  subResources: opt(Strings),
  nameMatchScope: opt(
    Type.Union([Type.Literal("SELF"), Type.Literal("SELF_OR_ANY_CHILD"), Type.Literal("SELF_OR_ANY_DESCENDANT")]),
  ),
  attributes: opt(Attributes),
});

/** `RangerAccessInfo`: one resource, the action (audit only) and the permissions needed. */
export const AccessInfo = Type.Object({
  resource: opt(ResourceInfo),
  action: opt(Type.String({ maxLength: 256 })),
  permissions: opt(Strings),
});

/** `RangerAccessContext`: the service, and what conditions may read. */
export const AccessContext = Type.Object({
  serviceType: opt(Type.String({ maxLength: 255 })),
  serviceName: opt(Type.String({ maxLength: 255 })),
  accessTime: opt(Type.Number()),
  clientIpAddress: opt(Type.String({ maxLength: 256 })),
  forwardedIpAddresses: opt(Strings),
  additionalInfo: opt(Attributes),
});

const RequestId = opt(Type.String({ maxLength: 1024 }));

/** `RangerAuthzRequest` (`POST /authz/v1/authorize`). */
export const AuthzRequest = Type.Object(
  { requestId: RequestId, user: opt(UserInfo), access: opt(AccessInfo), context: opt(AccessContext) },
  { title: "RangerAuthzRequest" },
);

/** `RangerMultiAuthzRequest` (`POST /authz/v1/authorizeMulti`). */
export const MultiAuthzRequest = Type.Object(
  {
    requestId: RequestId,
    user: opt(UserInfo),
    accesses: opt(Type.Array(AccessInfo, { maxItems: 10_000 })),
    context: opt(AccessContext),
  },
  { title: "RangerMultiAuthzRequest" },
);

/** `RangerResourcePermissionsRequest` (`POST /authz/v1/permissions`). */
export const ResourcePermissionsRequest = Type.Object(
  { requestId: RequestId, resource: opt(ResourceInfo), context: opt(AccessContext) },
  { title: "RangerResourcePermissionsRequest" },
);

/** `RangerFilterResourcesRequest` (`POST /authz/v1/filterResources`, RANGER-5784). */
export const FilterResourcesRequest = Type.Object(
  {
    requestId: RequestId,
    user: opt(UserInfo),
    resources: opt(Type.Array(ResourceInfo, { maxItems: 10_000 })),
    permissions: opt(Strings),
    action: opt(Type.String({ maxLength: 256 })),
    context: opt(AccessContext),
  },
  { title: "RangerFilterResourcesRequest" },
);

export type UserInfo = Static<typeof UserInfo>;
export type ResourceInfo = Static<typeof ResourceInfo>;
export type AccessInfo = Static<typeof AccessInfo>;
export type AccessContext = Static<typeof AccessContext>;
export type AuthzRequest = Static<typeof AuthzRequest>;
export type MultiAuthzRequest = Static<typeof MultiAuthzRequest>;
export type ResourcePermissionsRequest = Static<typeof ResourcePermissionsRequest>;
export type FilterResourcesRequest = Static<typeof FilterResourcesRequest>;

/** `AccessDecision`. */
export type Decision = "ALLOW" | "DENY" | "NOT_DETERMINED" | "PARTIAL";

const PolicyInfo = Type.Object({ id: Type.Optional(Type.Integer()), version: Type.Optional(Type.Integer()) });
const AccessResult = Type.Object({ decision: Type.Optional(Type.String()), policy: Type.Optional(PolicyInfo) });
const DataMaskResult = Type.Object({
  maskType: Type.Optional(Type.String()),
  maskedValue: Type.Optional(Type.String()),
  policy: Type.Optional(PolicyInfo),
});
const RowFilterResult = Type.Object({ filterExpr: Type.Optional(Type.String()), policy: Type.Optional(PolicyInfo) });

/** `ResultInfo`: one resource's access, data mask and row filter. */
export const ResultInfo = Type.Object({
  access: Type.Optional(AccessResult),
  dataMask: Type.Optional(DataMaskResult),
  rowFilter: Type.Optional(RowFilterResult),
});

/** `PermissionResult`: a `ResultInfo` for one permission, with the sub-resources' results. */
export const PermissionResult = Type.Object({
  permission: Type.Optional(Type.String()),
  ...ResultInfo.properties,
  subResources: Type.Optional(Type.Record(Type.String(), ResultInfo)),
});

/** `RangerAuthzResult`. */
export const AuthzResult = Type.Object(
  {
    requestId: Type.Optional(Type.String()),
    decision: Type.Optional(Type.String({ enum: ["ALLOW", "DENY", "NOT_DETERMINED", "PARTIAL"] })),
    permissions: Type.Optional(Type.Record(Type.String(), PermissionResult)),
  },
  { title: "RangerAuthzResult" },
);

/** `RangerMultiAuthzResult`. */
export const MultiAuthzResult = Type.Object(
  {
    requestId: Type.Optional(Type.String()),
    decision: Type.Optional(Type.String({ enum: ["ALLOW", "DENY", "NOT_DETERMINED", "PARTIAL"] })),
    accesses: Type.Optional(Type.Array(AuthzResult)),
  },
  { title: "RangerMultiAuthzResult" },
);

const ResourceInfoOut = Type.Object({
  name: Type.Optional(Type.String()),
  subResources: Type.Optional(Type.Array(Type.String())),
  nameMatchScope: Type.Optional(Type.String()),
  attributes: Type.Optional(Attributes),
});
const PrincipalPermissions = Type.Record(Type.String(), Type.Record(Type.String(), PermissionResult));

/** `RangerResourcePermissions`: who holds which permission on a resource. */
export const ResourcePermissions = Type.Object(
  {
    resource: Type.Optional(ResourceInfoOut),
    users: Type.Optional(PrincipalPermissions),
    groups: Type.Optional(PrincipalPermissions),
    roles: Type.Optional(PrincipalPermissions),
  },
  { title: "RangerResourcePermissions" },
);

/** `RangerFilterResourcesResult`: the resources the user holds every permission on. */
export const FilterResourcesResult = Type.Object(
  { requestId: Type.Optional(Type.String()), resources: Type.Optional(Type.Array(ResourceInfoOut)) },
  { title: "RangerFilterResourcesResult" },
);

export type PolicyInfo = Static<typeof PolicyInfo>;
export type AccessResult = { decision?: Decision; policy?: PolicyInfo };
export type ResultInfo = Omit<Static<typeof ResultInfo>, "access"> & { access?: AccessResult };
export type PermissionResult = ResultInfo & { permission?: string; subResources?: Record<string, ResultInfo> };
export type AuthzResult = { requestId?: string; decision?: Decision; permissions?: Record<string, PermissionResult> };
export type MultiAuthzResult = { requestId?: string; decision?: Decision; accesses?: AuthzResult[] };
export type ResourcePermissions = Static<typeof ResourcePermissions>;
export type FilterResourcesResult = Static<typeof FilterResourcesResult>;

/** `/health/live` and `/health/ready` as the PDP's status servlet answers them. */
export const Live = Type.Object({ status: Type.String(), service: Type.String(), live: Type.Boolean() });
export const Ready = Type.Object({
  status: Type.String(),
  service: Type.String(),
  ready: Type.Boolean(),
  authorizerInitialized: Type.Boolean(),
  acceptingRequests: Type.Boolean(),
  loadedServicesCount: Type.Integer(),
});
