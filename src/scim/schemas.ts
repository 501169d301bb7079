/**
 * SCIM's schema URNs and the discovery documents (RFC 7643 §5-§7, RFC 7644 §4): what
 * `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` answer. Static: they describe what
 * this server does, not the data.
 */

export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";
export const CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/** Most resources one list page returns (`count` above it is lowered to it). */
export const MAX_RESULTS = 1000;

/** `/ServiceProviderConfig`: PATCH, filters and ETags are supported; bulk, sort and password change are not. */
export function serviceProviderConfig(base: string) {
  return {
    schemas: [SPC],
    documentationUri: "https://github.com/gatehouse/gatehouse/blob/main/docs/scim.md",
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description: "A SCIM client token made with `POST /v1/scim-clients`, sent as `Authorization: Bearer <token>`",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${base}/ServiceProviderConfig` },
  };
}

/** `/ResourceTypes`: User (with the enterprise extension) and Group. */
export function resourceTypes(base: string) {
  return [
    {
      schemas: [RESOURCE_TYPE],
      id: "User",
      name: "User",
      endpoint: "/Users",
      description: "A directory user",
      schema: CORE_USER,
      schemaExtensions: [{ schema: ENTERPRISE_USER, required: false }],
      meta: { resourceType: "ResourceType", location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE],
      id: "Group",
      name: "Group",
      endpoint: "/Groups",
      description: "A directory group (its members are users)",
      schema: CORE_GROUP,
      meta: { resourceType: "ResourceType", location: `${base}/ResourceTypes/Group` },
    },
  ];
}

type Attr = Record<string, unknown>;

function attr(name: string, extra: Attr = {}): Attr {
  return {
    name,
    type: "string",
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
    ...extra,
  };
}

const multi = (name: string, subs: Attr[], extra: Attr = {}) =>
  attr(name, { type: "complex", multiValued: true, subAttributes: subs, ...extra });
const typed = [attr("value"), attr("display"), attr("type"), attr("primary", { type: "boolean" })];

/** `/Schemas`: the attributes Gatehouse keeps for each resource (the rest of RFC 7643 is stored as sent). */
export function schemaDocuments(base: string) {
  const doc = (id: string, name: string, attributes: Attr[]) => ({
    schemas: [SCHEMA],
    id,
    name,
    description: `${name} as Gatehouse stores it`,
    attributes,
    meta: { resourceType: "Schema", location: `${base}/Schemas/${id}` },
  });
  return [
    doc(CORE_USER, "User", [
      attr("userName", { required: true, uniqueness: "server" }),
      attr("name", {
        type: "complex",
        subAttributes: ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"].map(
          (n) => attr(n),
        ),
      }),
      attr("displayName"),
      attr("nickName"),
      attr("profileUrl", { type: "reference", referenceTypes: ["external"] }),
      attr("title"),
      attr("userType"),
      attr("preferredLanguage"),
      attr("locale"),
      attr("timezone"),
      attr("active", { type: "boolean" }),
      attr("password", { mutability: "writeOnly", returned: "never" }),
      multi("emails", typed),
      multi("phoneNumbers", typed),
      multi(
        "addresses",
        ["formatted", "streetAddress", "locality", "region", "postalCode", "country", "type"].map((n) => attr(n)),
      ),
      multi("groups", [attr("value", { mutability: "readOnly" }), attr("display", { mutability: "readOnly" })], {
        mutability: "readOnly",
      }),
    ]),
    doc(ENTERPRISE_USER, "EnterpriseUser", [
      ...["employeeNumber", "costCenter", "organization", "division", "department"].map((n) => attr(n)),
      attr("manager", {
        type: "complex",
        subAttributes: [
          attr("value"),
          attr("$ref", { type: "reference" }),
          attr("displayName", { mutability: "readOnly" }),
        ],
      }),
    ]),
    doc(CORE_GROUP, "Group", [
      attr("displayName", { required: true, uniqueness: "server" }),
      multi("members", [
        attr("value", { mutability: "immutable" }),
        attr("display", { mutability: "readOnly" }),
        attr("type", { canonicalValues: ["User"], mutability: "immutable" }),
        attr("$ref", { type: "reference", referenceTypes: ["User"], mutability: "immutable" }),
      ]),
    ]),
  ];
}
