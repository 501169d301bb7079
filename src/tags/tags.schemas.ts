import { Type } from "typebox";
import { PolicyResource } from "../policies/policies.schemas.ts";
import { TAG_TYPE_PATTERN } from "./validate-tags.ts";

/** `RangerTagAttributeDef`. */
const AttributeDef = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    type: Type.Optional(Type.String({ maxLength: 64, description: "Atlas type name, e.g. `string`" })),
  },
  { title: "TagAttributeDef" },
);

/** A tag type (`RangerTagDef`) as sent by clients. */
export const TagDefInput = Type.Object(
  {
    name: Type.String({ pattern: TAG_TYPE_PATTERN, description: "Tag type name, e.g. `PII`" }),
    attributeDefs: Type.Optional(Type.Array(AttributeDef, { maxItems: 256 })),
  },
  { additionalProperties: false, title: "TagDefInput" },
);

/** A tag type as answered. */
export const TagDef = Type.Object(
  {
    id: Type.Integer(),
    guid: Type.String(),
    name: Type.String(),
    attributeDefs: Type.Array(AttributeDef),
    createTime: Type.Integer(),
    updateTime: Type.Integer(),
  },
  { title: "TagDef" },
);

/** `RangerValiditySchedule` (times `yyyy/MM/dd HH:mm:ss`). */
const ValidityPeriod = Type.Object(
  {
    startTime: Type.Optional(Type.String()),
    endTime: Type.Optional(Type.String()),
    timeZone: Type.Optional(Type.String()),
    recurrences: Type.Optional(Type.Array(Type.Unknown({ description: "Ranger `RangerValidityRecurrence`" }))),
  },
  { title: "TagValidityPeriod" },
);

/** A tag as sent by clients: a type and attribute values. */
export const TagInput = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 255, description: "Tag type (defined with `POST /v1/tag-defs`)" }),
    attributes: Type.Optional(Type.Record(Type.String(), Type.String())),
    validityPeriods: Type.Optional(Type.Array(ValidityPeriod, { maxItems: 64 })),
  },
  { additionalProperties: false, title: "TagInput" },
);

/** A tag (`RangerTag`) as answered. */
export const Tag = Type.Object(
  {
    id: Type.Integer(),
    guid: Type.String(),
    type: Type.String(),
    attributes: Type.Record(Type.String(), Type.String()),
    validityPeriods: Type.Optional(Type.Array(ValidityPeriod)),
  },
  { title: "Tag" },
);

/** Resource elements in Ranger's policy-resource form: `{catalog: {values: [...]}, ...}`. */
export const ResourceElements = Type.Record(Type.String(), PolicyResource, {
  description: 'Resource elements as in a policy: `{"catalog": {"values": ["sales"]}, "schema": ...}`',
});

/** Tagging a resource. */
export const TagResourceInput = Type.Object(
  {
    resourceElements: ResourceElements,
    ownerUser: Type.Optional(Type.String({ maxLength: 255 })),
    tags: Type.Array(TagInput, { minItems: 1, maxItems: 256 }),
  },
  { additionalProperties: false, title: "TagResourceInput" },
);

/** A tagged resource (`RangerServiceResource`) with its tags. */
export const TaggedResource = Type.Object(
  {
    id: Type.Integer(),
    guid: Type.String(),
    serviceName: Type.String(),
    resourceElements: ResourceElements,
    resourceSignature: Type.String(),
    ownerUser: Type.Union([Type.String(), Type.Null()]),
    tags: Type.Array(Tag),
    createTime: Type.Integer(),
    updateTime: Type.Integer(),
  },
  { title: "TaggedResource" },
);

/** Path `{service}/tagged-resources/{id}`. */
export const TaggedResourceParams = Type.Object({
  service: Type.String({ minLength: 1, maxLength: 255 }),
  id: Type.Integer({ minimum: 1 }),
});

/** Path `{service}/tagged-resources/{id}/tags/{type}`. */
export const TaggedResourceTagParams = Type.Object({
  service: Type.String({ minLength: 1, maxLength: 255 }),
  id: Type.Integer({ minimum: 1 }),
  type: Type.String({ minLength: 1, maxLength: 255 }),
});
