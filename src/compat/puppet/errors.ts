import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { AppError } from "../../errors.ts";
import { clipValue, type ErrorShaper } from "../../http/error-handler.ts";

// Puppet Enterprise RBAC answers errors as `{kind, msg, details}`; `kind` is a stable keyword
// clients branch on (peers.md §A3 lists them with their statuses).

/** The kinds Gatehouse sends on the RBAC routes, with their HTTP statuses. */
const KINDS = {
  "malformed-request": 400,
  "schema-violation": 400,
  "inconsistent-id": 400,
  "invalid-id-filter": 400,
  "invalid-uuid": 400,
  "user-unauthenticated": 401,
  "permission-denied": 403,
  "not-found": 404,
  conflict: 409,
  "invalid-associated-id": 422,
  "no-such-group-LDAP": 422,
  "too-many-requests": 429,
  "server-error": 500,
} as const;

type Kind = keyof typeof KINDS;

/** The rule names the RBAC routes put on a detail to pick a kind other than `schema-violation`. */
export const RULE_INCONSISTENT_ID = "inconsistentId";
export const RULE_ID_FILTER = "idFilter";

function kindOf(error: AppError): Kind {
  const detail = error.details[0];
  switch (error.code) {
    case "MALFORMED_JSON":
    case "UNSUPPORTED_MEDIA_TYPE":
    case "PAYLOAD_TOO_LARGE":
      return "malformed-request";
    case "VALIDATION_FAILED":
      if (detail?.rule === RULE_INCONSISTENT_ID) return "inconsistent-id";
      if (detail?.rule === RULE_ID_FILTER) return "invalid-id-filter";
      if (detail?.field.startsWith("path.") && detail.rule === "format") return "invalid-uuid";
      return "schema-violation";
    case "REFERENCE_NOT_FOUND":
    case "IDENTITY_SOURCE_NOT_FOUND":
      return "invalid-associated-id";
    case "DIRECTORY_GROUP_NOT_FOUND":
      return "no-such-group-LDAP";
    default:
      break;
  }
  if (error.status === 401) return "user-unauthenticated";
  if (error.status === 403) return "permission-denied";
  if (error.status === 404) return "not-found";
  if (error.status === 409) return "conflict";
  if (error.status === 429) return "too-many-requests";
  return error.status >= 500 ? "server-error" : "schema-violation";
}

/** `{kind, msg, details}`. */
export const PuppetError = Type.Object(
  {
    kind: Type.String({ description: "`schema-violation`, `conflict`, `no-such-group-LDAP`, ..." }),
    msg: Type.String(),
    details: Type.Unknown({ description: "Facts about the error (the submitted body and the failure), or null" }),
  },
  { title: "PuppetError" },
);

/** Response schemas for the error statuses a Puppet route documents. */
export function puppetErrors(...statuses: number[]): Record<number, typeof PuppetError> {
  return Object.fromEntries(statuses.map((s) => [s, PuppetError]));
}

function detailsOf(kind: Kind, error: AppError, request: FastifyRequest): unknown {
  if (kind === "schema-violation") {
    return {
      submitted: clipValue(request.body ?? null),
      error: Object.fromEntries(error.details.map((d) => [d.field.replace(/^body\./, ""), d.message])),
    };
  }
  if (kind === "inconsistent-id") return error.meta ?? null;
  if (kind === "no-such-group-LDAP" || kind === "invalid-associated-id" || kind === "conflict") {
    return error.meta ?? null;
  }
  return null;
}

/**
 * Renders every failure as Puppet's RBAC service does. Directory outages keep their message
 * (which source failed and why); other server faults get a generic one.
 */
export const puppetErrorShape: ErrorShaper = (error, request) => {
  const kind = kindOf(error);
  // Puppet has one server kind; its status stays the fault's own (a directory outage is a 502, not a 500)
  const status = kind === "server-error" ? error.status : KINDS[kind];
  const msg = status >= 500 && error.code !== "DIRECTORY_UNAVAILABLE" ? "an internal error occurred" : error.message;
  return { status, body: { kind, msg, details: detailsOf(kind, error, request) } };
};
