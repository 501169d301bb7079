import { ValidationFailed } from "../../errors.ts";
import type { ErrorShaper } from "../../http/error-handler.ts";

/**
 * Ranger's authorization-API error codes (`RangerAuthzApiErrorCode`, `RangerEmbeddedAuthzErrorCode`)
 * as the PDP words them: `AUTHZ-400-00-003: missing user info`. The catalogue code stays
 * VALIDATION_FAILED; the message is Ranger's, so a client matching on it keeps working.
 */
const API = {
  SERVICE_NOT_FOUND: ["00-001", "{0}: service not found"],
  USER_INFO_MISSING: ["00-003", "missing user info"],
  ACCESS_INFO_MISSING: ["00-004", "missing access info"],
  RESOURCE_INFO_MISSING: ["00-005", "missing resource info"],
  RESOURCE_NAME_MISSING: ["00-006", "missing resource name"],
  NAME_MATCH_SCOPE_INVALID: ["00-007", "invalid name match scope {0}. For {1}, valid scopes are [{2}]"],
  ACCESS_CONTEXT_MISSING: ["00-008", "missing access context"],
  RESOURCE_TYPE_NOT_FOUND: ["00-009", "{0}: resource type not found"],
  PERMISSION_NOT_FOUND: ["00-011", "{0}: permission not found"],
  PERMISSIONS_EMPTY: ["00-012", "permissions is empty. Nothing to authorize"],
  SERVICE_NAME_OR_TYPE_MANDATORY: ["00-013", "service name or service type is mandatory"],
  RESOURCE_EMPTY_VALUE: ["00-016", "invalid resource - empty"],
  RESOURCE_VALUE: ["00-017", 'invalid resource "{0}" - does not match template "{1}"'],
} as const;

/** Ranger's unformatted "missing user info", which the PDP's caller check answers before evaluating. */
export const USER_INFO_MISSING_MESSAGE = API.USER_INFO_MISSING[1];

/** A 400 with Ranger's coded message (`AUTHZ-400-<nn-nnn>: <message>`), its `{n}` filled from `args`. */
export function authzError(code: keyof typeof API, ...args: unknown[]): Error {
  const [number, template] = API[code];
  return ValidationFailed(`AUTHZ-400-${number}: ${fill(template, args)}`);
}

/** `RangerEmbeddedAuthzErrorCode.NO_DEFAULT_SERVICE_FOR_SERVICE_TYPE`, prefix and all. */
export function noDefaultServiceError(serviceType: string): Error {
  return ValidationFailed(`E_AUTHZ--400-00-002: No default service found for service type ${serviceType}`);
}

function fill(template: string, args: unknown[]): string {
  // MessageFormat leaves a placeholder without an argument as it is
  return template.replace(/\{(\d)\}/g, (whole, i) => (args[Number(i)] === undefined ? whole : String(args[Number(i)])));
}

/** JAX-RS `Response.Status` names the PDP's `ErrorResponse.code` carries, by HTTP status. */
const STATUS_NAMES: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "REQUEST_ENTITY_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
};

/**
 * Ranger PDP's error body, `{code, message}` with `code` the status name (`ErrorResponse`).
 * Statuses of 500 and above say only "Internal Server Error", as the PDP does.
 */
export const pdpErrorShape: ErrorShaper = (error) => {
  const internal = error.status >= 500;
  return {
    status: error.status,
    body: {
      code: internal ? "INTERNAL_SERVER_ERROR" : (STATUS_NAMES[error.status] ?? "BAD_REQUEST"),
      message: internal ? "Internal Server Error" : error.message,
    },
  };
};
