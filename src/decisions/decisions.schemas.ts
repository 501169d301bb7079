import { Type } from "typebox";

const Name = Type.String({ minLength: 1, maxLength: 512 });

/** A resource value: one string, or a collection (all elements must match). */
const ResourceValue = Type.Union([Type.String({ maxLength: 4096 }), Type.Array(Type.String({ maxLength: 4096 }))]);

/** Request fields shared by single, batch and explain decisions. */
export const DecisionRequestFields = {
  user: Type.String({ minLength: 1, maxLength: 256, description: "User name (Ranger's `user`)" }),
  groups: Type.Optional(
    Type.Array(Name, {
      maxItems: 10_000,
      description: "The user's groups; when absent, its effective groups from the directory",
    }),
  ),
  roles: Type.Optional(
    Type.Array(Name, {
      maxItems: 10_000,
      description: "The user's roles; when absent, its roles from the directory (composites included)",
    }),
  ),
  resource: Type.Record(Type.String({ pattern: "^[A-Za-z0-9_.-]{1,128}$" }), ResourceValue, {
    description: "Resource elements by the service-def's resource names, e.g. `{catalog, schema, table, column}`",
  }),
  // Required and never empty: Ranger reads an empty access type as "any access", so a client
  // that forgot the field would be told "allowed" when the user may do anything at all there.
  accessType: Type.String({
    minLength: 1,
    maxLength: 128,
    description: "Access type (`select`, ...); `_any` asks whether any access is allowed (Ranger's empty access type)",
  }),
  action: Type.Optional(Type.String({ maxLength: 256, description: "The host's action name (audit only)" })),
  policyType: Type.Optional(
    Type.Union([Type.Literal("access"), Type.Literal("datamask"), Type.Literal("rowfilter")], {
      description: "`access` (default), `datamask` (answers maskType/maskedValue) or `rowfilter` (filterExpr)",
    }),
  ),
  context: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), { description: "Request context: TAGS, attributes for conditions" }),
  ),
  resourceMatchingScope: Type.Optional(
    Type.Union([Type.Literal("SELF"), Type.Literal("SELF_OR_DESCENDANTS")], {
      description:
        "Ranger's `resourceMatchingScope`: `SELF_OR_DESCENDANTS` also counts policies on resources below the one named (an HBase family scan), default `SELF`",
    }),
  ),
  isDescendantDenyIgnored: Type.Optional(
    Type.Boolean({
      description:
        "Ranger's `isDescendantDenyIgnored` (RANGER-5001), default true; false makes a deny on a resource below the one named deny the request (with `SELF_OR_DESCENDANTS` or `_any`), as Ranger's HBase authorizer asks for scans",
    }),
  ),
};

/** `POST /v1/decisions` body. */
export const DecisionRequest = Type.Object(
  { service: Type.String({ minLength: 1, maxLength: 255, description: "Service name" }), ...DecisionRequestFields },
  { additionalProperties: false, title: "DecisionRequest" },
);

/** A decision. */
export const Decision = Type.Object(
  {
    allowed: Type.Boolean(),
    determined: Type.Boolean({ description: "False when no policy decided (only with fallback services)" }),
    policyId: Type.Integer({ description: "Deciding policy; -1 when none (default deny, super user)" }),
    policyVersion: Type.Union([Type.Integer(), Type.Null()], { description: "Version of the deciding policy" }),
    servicePolicyVersion: Type.Integer({ description: "Service policy version the engine served" }),
    audited: Type.Boolean({ description: "Whether the decision is written to the decision log" }),
    reason: Type.String(),
    maskType: Type.Optional(Type.String()),
    maskedValue: Type.Optional(Type.String()),
    maskCondition: Type.Optional(Type.String()),
    filterExpr: Type.Optional(Type.String()),
  },
  { title: "Decision" },
);

/** `POST /v1/decisions:batch` body. */
export const BatchRequest = Type.Object(
  {
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Default service of the items" })),
    requests: Type.Array(
      Type.Object(
        { service: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), ...DecisionRequestFields },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false, title: "DecisionBatchRequest" },
);

/**
 * One batch answer: a decision, or `{error}` for that item alone. One object with optional
 * fields rather than a union: the serializer then needs no per-item schema matching.
 */
export const BatchItem = Type.Object(
  {
    ...Type.Partial(Decision).properties,
    error: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String() }, { description: "Set when the item failed" }),
    ),
  },
  { title: "DecisionBatchItem" },
);

/** `POST /v1/decisions:batch` answer, in request order. */
export const BatchResponse = Type.Object(
  { results: Type.Array(BatchItem), allowed: Type.Integer(), denied: Type.Integer(), failed: Type.Integer() },
  { title: "DecisionBatchResponse" },
);
