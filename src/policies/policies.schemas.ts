import { Type } from "typebox";

/** `RangerPolicyResource`. */
export const PolicyResource = Type.Object(
  {
    values: Type.Array(Type.String(), { description: "Values; `*` and `?` are wildcards where the resource allows" }),
    isExcludes: Type.Optional(Type.Boolean({ description: "Match everything except the values" })),
    isRecursive: Type.Optional(Type.Boolean({ description: "Also match below the values (paths)" })),
  },
  { title: "PolicyResource" },
);

const Condition = Type.Object(
  { type: Type.String(), values: Type.Optional(Type.Array(Type.String())) },
  { title: "PolicyCondition" },
);

/**
 * Most characters in a principal name or a policy label. Both are indexed (GIN over text[]),
 * and an index entry must stay under ~2,700 bytes: 512 characters of up to 4 bytes each fit.
 */
export const MAX_INDEXED_NAME = 512;

const Principal = Type.String({ maxLength: MAX_INDEXED_NAME });

const itemFields = {
  accesses: Type.Optional(
    Type.Array(
      Type.Object({
        type: Type.String({ description: "Access type of the service-def, e.g. `select`" }),
        isAllowed: Type.Optional(Type.Boolean({ default: true })),
      }),
    ),
  ),
  users: Type.Optional(Type.Array(Principal)),
  groups: Type.Optional(Type.Array(Principal)),
  roles: Type.Optional(Type.Array(Principal)),
  conditions: Type.Optional(Type.Array(Condition)),
  delegateAdmin: Type.Optional(Type.Boolean()),
};

/** `RangerPolicyItem`. */
export const PolicyItem = Type.Object(itemFields, { title: "PolicyItem" });
/** `RangerDataMaskPolicyItem`. */
export const DataMaskItem = Type.Object(
  {
    ...itemFields,
    dataMaskInfo: Type.Object({
      dataMaskType: Type.String({ description: "Mask type of the service-def, e.g. `MASK_HASH`" }),
      conditionExpr: Type.Optional(Type.String()),
      valueExpr: Type.Optional(Type.String({ description: "Expression of the CUSTOM mask type" })),
    }),
  },
  { title: "DataMaskPolicyItem" },
);
/** `RangerRowFilterPolicyItem`. */
export const RowFilterItem = Type.Object(
  { ...itemFields, rowFilterInfo: Type.Object({ filterExpr: Type.String({ description: "SQL predicate" }) }) },
  { title: "RowFilterPolicyItem" },
);

const policyFields = {
  name: Type.String({ minLength: 1, maxLength: 255, description: "Unique within the service and zone" }),
  description: Type.Optional(Type.String()),
  policyType: Type.Optional(Type.Integer({ description: "0 access, 1 masking, 2 row filter" })),
  policyPriority: Type.Optional(Type.Integer({ description: "0 normal, 1 override" })),
  isEnabled: Type.Optional(Type.Boolean()),
  isAuditEnabled: Type.Optional(Type.Boolean()),
  isDenyAllElse: Type.Optional(Type.Boolean()),
  resources: Type.Record(Type.String(), PolicyResource, {
    description: 'Resource name of the service-def → values, e.g. `{"catalog": {"values": ["hive"]}}`',
  }),
  additionalResources: Type.Optional(Type.Array(Type.Record(Type.String(), PolicyResource))),
  conditions: Type.Optional(Type.Array(Condition)),
  policyItems: Type.Optional(Type.Array(PolicyItem)),
  denyPolicyItems: Type.Optional(Type.Array(PolicyItem)),
  allowExceptions: Type.Optional(Type.Array(PolicyItem)),
  denyExceptions: Type.Optional(Type.Array(PolicyItem)),
  dataMaskPolicyItems: Type.Optional(Type.Array(DataMaskItem)),
  rowFilterPolicyItems: Type.Optional(Type.Array(RowFilterItem)),
  validitySchedules: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  policyLabels: Type.Optional(Type.Array(Type.String({ maxLength: MAX_INDEXED_NAME }))),
  zoneName: Type.Optional(Type.String()),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
};

/**
 * A policy as clients send it: Ranger's JSON. Unknown fields are ignored like Ranger does (its
 * model is `ignoreUnknown`), so an export can be posted back as is.
 */
export const PolicyInput = Type.Object(policyFields, { title: "PolicyInput", additionalProperties: true });

/** PATCH body: any subset of the fields; item lists are replaced whole. */
export const PolicyPatch = Type.Partial(Type.Object(policyFields), {
  title: "PolicyPatch",
  additionalProperties: false,
});

/** A stored policy as Ranger's admin REST answers it. */
export const Policy = Type.Object(
  {
    id: Type.Integer(),
    guid: Type.String(),
    version: Type.Integer({ description: "Incremented on every change of this policy" }),
    service: Type.String(),
    serviceType: Type.String(),
    resourceSignature: Type.String({ description: "sha256 of the resource set (Ranger's signature)" }),
    ...policyFields,
    createdBy: Type.Optional(Type.String()),
    updatedBy: Type.Optional(Type.String()),
    createTime: Type.Integer({ description: "Epoch milliseconds, as Ranger" }),
    updateTime: Type.Integer({ description: "Epoch milliseconds, as Ranger" }),
  },
  { title: "Policy" },
);

/** A service (Ranger `RangerService`). */
export const Service = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    type: Type.String({ description: "Name of its service-def" }),
    displayName: Type.String(),
    description: Type.String(),
    configs: Type.Record(Type.String(), Type.String(), {
      description: "`ranger.plugin.super.users`, `ranger.plugin.super.groups`, `ranger.plugin.audit.filters`, ...",
    }),
    isEnabled: Type.Boolean(),
    policyVersion: Type.Integer({ description: "Bumped by every policy change" }),
    policyUpdateTime: Type.Union([Type.Integer(), Type.Null()]),
    tagService: Type.Union([Type.String(), Type.Null()], {
      description: "Linked tag service, whose tag-based policies apply to this service",
    }),
    tagVersion: Type.Integer({ description: "Bumped by every change to the service's resource tags" }),
    tagUpdateTime: Type.Union([Type.Integer(), Type.Null()]),
    createTime: Type.Integer(),
    updateTime: Type.Integer(),
  },
  { title: "Service" },
);

/** Path `{service}`. */
export const ServiceParams = Type.Object({ service: Type.String({ minLength: 1, maxLength: 255 }) });
/** Path `{service}/policies/{id}`. */
export const ServicePolicyParams = Type.Object({
  service: Type.String({ minLength: 1, maxLength: 255 }),
  id: Type.Integer({ minimum: 1 }),
});
/** Path `{id}` of a policy. */
/**
 * A policy id or version in a path: a 32-bit integer like the column, so `99999999999999999999` is a
 * 400 naming the parameter instead of an out-of-range error from the database.
 */
export const Int32Id = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

export const PolicyIdParams = Type.Object({ id: Int32Id });
