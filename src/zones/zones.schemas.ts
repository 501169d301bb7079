import { Type } from "typebox";

const Names = (what: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 767 }), { maxItems: 10_000, description: what });

/**
 * The resources a zone claims in one service (Ranger `RangerSecurityZoneService`): a list of
 * resource maps, each resource name → values, e.g. `{"catalog": ["sales"], "schema": ["eu*"]}`.
 * Values may use the service-def's wildcards; a value covers everything below it.
 */
export const ZoneServiceResources = Type.Object(
  {
    resources: Type.Array(
      Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.Array(Type.String({ maxLength: 4096 }))),
      { maxItems: 1_000 },
    ),
  },
  { additionalProperties: false, title: "ZoneServiceResources" },
);

const zoneFields = {
  description: Type.Optional(Type.String({ maxLength: 4000 })),
  services: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 255 }), ZoneServiceResources, {
      description: "Data services of the zone, by name, with the resources the zone claims in each",
    }),
  ),
  tagServices: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
      maxItems: 100,
      description: "Tag services whose tag policies of this zone apply inside it (Ranger `tagServices`)",
    }),
  ),
  adminUsers: Type.Optional(
    Names("Users who administer the zone's policies, and its admin and audit lists, without `policy.write`"),
  ),
  adminUserGroups: Type.Optional(Names("Groups whose members administer the zone's policies (`public`: every user)")),
  adminRoles: Type.Optional(Names("Roles whose holders administer the zone's policies")),
  auditUsers: Type.Optional(Names("Users who read the zone's policies without `policy.read`")),
  auditUserGroups: Type.Optional(Names("Groups whose members read the zone's policies (`public`: every user)")),
  auditRoles: Type.Optional(Names("Roles whose holders read the zone's policies")),
};

/** `NAME_PATTERN`: what a zone may be called (Ranger allows any non-blank text; no slashes here, names go in URLs). */
export const ZONE_NAME_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.\\- ]{0,254}$";

/** A zone as created (`POST /v1/zones`). */
export const ZoneInput = Type.Object(
  { name: Type.String({ pattern: ZONE_NAME_PATTERN, description: "Unique, ignoring case" }), ...zoneFields },
  { additionalProperties: false, title: "ZoneInput" },
);

/** A change to a zone (`PATCH /v1/zones/{name}`): the fields given replace the stored ones. */
export const ZonePatch = Type.Object(
  { name: Type.Optional(Type.String({ pattern: ZONE_NAME_PATTERN })), ...zoneFields },
  { additionalProperties: false, title: "ZonePatch" },
);

/** A zone as answered, in Ranger's `RangerSecurityZone` shape with epoch-millisecond times. */
export const Zone = Type.Object(
  {
    id: Type.Integer(),
    guid: Type.String(),
    name: Type.String(),
    description: Type.String(),
    services: Type.Record(Type.String(), ZoneServiceResources),
    tagServices: Type.Array(Type.String()),
    adminUsers: Type.Array(Type.String()),
    adminUserGroups: Type.Array(Type.String()),
    adminRoles: Type.Array(Type.String()),
    auditUsers: Type.Array(Type.String()),
    auditUserGroups: Type.Array(Type.String()),
    auditRoles: Type.Array(Type.String()),
    createdBy: Type.Union([Type.String(), Type.Null()]),
    updatedBy: Type.Union([Type.String(), Type.Null()]),
    createTime: Type.Integer(),
    updateTime: Type.Integer(),
  },
  { title: "Zone" },
);
