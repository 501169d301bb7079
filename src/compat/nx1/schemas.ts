import { Type } from "typebox";

/** Tag of every Nx1 route in the OpenAPI document (the seeds' tag). */
export const NX1_TAGS = ["Policy Management"];
/** Both security schemes of the seeds: the PSK header and OAuth2 bearer tokens. */
export const NX1_SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { APIKeyHeader: [] }];
/** Appended to the description of routes Nx1 does not have. */
export const EXTENSION_NOTE = "**Gatehouse extension**: not part of the Nx1 API.";

/** Nx1 `ErrorResponse`. */
export const ErrorResponse = Type.Object(
  {
    error: Type.String({ title: "Error", description: "A brief description of the error that occurred." }),
    code: Type.Integer({ title: "Code", description: "The HTTP status code associated with the error.", default: 500 }),
  },
  { title: "ErrorResponse" },
);

/** FastAPI `HTTPValidationError`. */
export const HTTPValidationError = Type.Object(
  {
    detail: Type.Array(
      Type.Object(
        {
          loc: Type.Array(Type.Union([Type.String(), Type.Integer()]), { title: "Location" }),
          msg: Type.String({ title: "Message" }),
          type: Type.String({ title: "Error Type" }),
          input: Type.Optional(Type.Unknown({ title: "Input" })),
        },
        { title: "ValidationError" },
      ),
    ),
  },
  { title: "HTTPValidationError" },
);

/** Nx1 error responses: the given statuses, each as `ErrorResponse`. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorResponse]));
}

const RangerResourceValue = Type.Object(
  {
    values: Type.Array(Type.String(), {
      title: "Values",
      description: "Resource values (e.g., ['iceberg'], ['my_schema'], ['*']).",
    }),
    isExcludes: Type.Optional(Type.Boolean({ title: "Isexcludes", default: false })),
    isRecursive: Type.Optional(Type.Boolean({ title: "Isrecursive", default: false })),
  },
  { title: "RangerResourceValue" },
);
const RangerAccess = Type.Object(
  {
    type: Type.String({ title: "Type" }),
    isAllowed: Type.Optional(Type.Boolean({ title: "Isallowed", default: true })),
  },
  { title: "RangerAccess" },
);
const principals = {
  accesses: Type.Optional(Type.Array(RangerAccess, { title: "Accesses" })),
  users: Type.Optional(Type.Array(Type.String(), { title: "Users" })),
  groups: Type.Optional(Type.Array(Type.String(), { title: "Groups" })),
};
const RangerPolicyItemModel = Type.Object(
  {
    ...principals,
    roles: Type.Optional(Type.Array(Type.String(), { title: "Roles" })),
    delegateAdmin: Type.Optional(Type.Boolean({ title: "Delegateadmin", default: false })),
  },
  { title: "RangerPolicyItemModel" },
);
const RangerRowFilterItemModel = Type.Object(
  {
    ...principals,
    roles: Type.Optional(Type.Array(Type.String(), { title: "Roles" })),
    rowFilterInfo: Type.Record(Type.String(), Type.Unknown(), { title: "Rowfilterinfo" }),
  },
  { title: "RangerRowFilterItemModel" },
);
const RangerDataMaskItemModel = Type.Object(
  {
    ...principals,
    roles: Type.Optional(
      Type.Array(Type.String(), { title: "Roles", description: "Gatehouse accepts roles here too." }),
    ),
    delegateAdmin: Type.Optional(Type.Boolean({ title: "Delegateadmin", default: false })),
    dataMaskInfo: Type.Object(
      {
        dataMaskType: Type.String({ title: "Datamasktype" }),
        conditionExpr: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        valueExpr: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      },
      { title: "RangerDataMaskInfoModel" },
    ),
  },
  { title: "RangerDataMaskItemModel" },
);

/** Nx1 `PolicyCreateRequest` (seed 001). Unknown fields are ignored, as pydantic does. */
export const PolicyCreateRequest = Type.Object(
  {
    name: Type.String({ title: "Name", description: "Policy name." }),
    description: Type.Optional(Type.String({ title: "Description", default: "" })),
    resources: Type.Record(Type.String(), RangerResourceValue, {
      title: "Resources",
      description: "Resource definitions keyed by resource type (e.g., 'catalog', 'schema', 'table', 'column', 'url').",
    }),
    policyType: Type.Optional(
      Type.Integer({ title: "Policytype", description: "0=ACCESS, 1=MASKING, 2=ROWFILTER.", default: 0 }),
    ),
    policyPriority: Type.Optional(
      Type.Integer({ title: "Policypriority", description: "0=NORMAL, 1=OVERRIDE.", default: 0 }),
    ),
    isEnabled: Type.Optional(Type.Boolean({ title: "Isenabled", default: true })),
    isAuditEnabled: Type.Optional(Type.Boolean({ title: "Isauditenabled", default: true })),
    isDenyAllElse: Type.Optional(Type.Boolean({ title: "Isdenyallelse", default: false })),
    policyItems: Type.Optional(Type.Array(RangerPolicyItemModel, { title: "Policyitems" })),
    denyPolicyItems: Type.Optional(Type.Array(RangerPolicyItemModel, { title: "Denypolicyitems" })),
    allowExceptions: Type.Optional(Type.Array(RangerPolicyItemModel, { title: "Allowexceptions" })),
    denyExceptions: Type.Optional(Type.Array(RangerPolicyItemModel, { title: "Denyexceptions" })),
    rowFilterPolicyItems: Type.Optional(Type.Array(RangerRowFilterItemModel, { title: "Rowfilterpolicyitems" })),
    dataMaskPolicyItems: Type.Optional(Type.Array(RangerDataMaskItemModel, { title: "Datamaskpolicyitems" })),
    policyLabels: Type.Optional(Type.Array(Type.String(), { title: "Policylabels" })),
    overwrite: Type.Optional(
      Type.Boolean({
        title: "Overwrite",
        description:
          "If False (default), a name collision returns 409. Set to True to intentionally update an existing policy of the same name.",
        default: false,
      }),
    ),
  },
  { title: "PolicyCreateRequest", additionalProperties: true },
);

/** Nx1 `PolicyCreateResponse`. */
export const PolicyCreateResponse = Type.Object(
  {
    policy_id: Type.Integer({ title: "Policy Id" }),
    policy_name: Type.String({ title: "Policy Name" }),
    status: Type.String({ title: "Status", description: "'created' or 'updated'." }),
  },
  { title: "PolicyCreateResponse" },
);

const looseList = Type.Array(Type.Record(Type.String(), Type.Unknown()));
/** The response of `GET /api/govern/data-access/policies/{policy_id}` (nx1-api.md §3.1.4). */
export const PolicyGetResponse = Type.Object(
  {
    policy_id: Type.Integer(),
    policy_name: Type.String(),
    service: Type.String(),
    resources: Type.Record(Type.String(), Type.Unknown()),
    policyType: Type.Integer({ default: 0 }),
    isEnabled: Type.Boolean({ default: true }),
    isAuditEnabled: Type.Boolean({ default: true }),
    policyItems: looseList,
    denyPolicyItems: looseList,
    allowExceptions: looseList,
    denyExceptions: looseList,
    rowFilterPolicyItems: looseList,
    dataMaskPolicyItems: looseList,
    policyPriority: Type.Integer({ default: 0 }),
    isDenyAllElse: Type.Boolean({ default: false }),
    policyLabels: Type.Array(Type.String()),
    description: Type.String({ default: "" }),
  },
  { title: "PolicyGetResponse" },
);

/** Nx1 `NameListResponse`. */
export const NameListResponse = Type.Object(
  { items: Type.Array(Type.String(), { title: "Items" }) },
  { title: "NameListResponse", description: "A list of names, used for Keycloak group/role/user dropdowns." },
);

/** Nx1 `ServiceDefMetadataResponse`. */
export const ServiceDefMetadataResponse = Type.Object(
  {
    resources: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          recursiveSupported: Type.Boolean({ default: false }),
          excludesSupported: Type.Boolean({ default: false }),
          mandatory: Type.Boolean({ default: false }),
          lookupSupported: Type.Boolean({ default: false }),
          parent: Type.Union([Type.String(), Type.Null()]),
          level: Type.Integer({ default: 0 }),
        },
        { title: "ResourceDefMetadata" },
      ),
    ),
    accessTypes: Type.Array(Type.String()),
    maskTypes: Type.Array(
      Type.Object(
        { name: Type.String(), label: Type.String(), description: Type.String({ default: "" }) },
        { title: "MaskTypeMetadata" },
      ),
    ),
  },
  { title: "ServiceDefMetadataResponse" },
);

/** Nx1 `BulkPolicyCreateResponse`. */
export const BulkPolicyCreateResponse = Type.Object(
  {
    total: Type.Integer({ description: "Result lines; always created + updated + failed" }),
    created: Type.Integer(),
    updated: Type.Integer(),
    failed: Type.Integer(),
    results: Type.Array(
      Type.Object(
        {
          row_index: Type.Integer({
            description: "0-based index of the source row (JSON rows first, then workbook rows)",
          }),
          name: Type.String(),
          policy_id: Type.Union([Type.Integer(), Type.Null()]),
          error: Type.Union([Type.String(), Type.Null()]),
          status: Type.Union([Type.Literal("created"), Type.Literal("updated"), Type.Literal("failed")], {
            description: "Gatehouse extension",
          }),
        },
        { title: "BulkPolicyResult" },
      ),
    ),
  },
  { title: "BulkPolicyCreateResponse" },
);

/** Nx1 `BulkPolicyParsePreviewResponse`. */
export const BulkPolicyParsePreviewResponse = Type.Object(
  {
    rows: Type.Array(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
      { description: "Workbook rows keyed by header, unvalidated" },
    ),
  },
  { title: "BulkPolicyParsePreviewResponse" },
);
