import { type AppError, type ErrorFactory, fieldError } from "../errors.ts";
import type { ErrorShaper } from "../http/error-handler.ts";

/** The schema URN of SCIM error bodies (RFC 7644 §3.12). */
export const SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";

/** The `scimType` keywords of RFC 7644 §3.12 that Gatehouse sends. */
export type ScimType =
  | "invalidFilter"
  | "tooMany"
  | "uniqueness"
  | "mutability"
  | "invalidSyntax"
  | "invalidPath"
  | "noTarget"
  | "invalidValue"
  | "invalidVers";

const SCIM_TYPES = new Set<string>([
  "invalidFilter",
  "tooMany",
  "uniqueness",
  "mutability",
  "invalidSyntax",
  "invalidPath",
  "noTarget",
  "invalidValue",
  "invalidVers",
]);

/**
 * An error about one SCIM field: the catalogue error `factory`, with the `scimType` as the
 * detail's rule, so the SCIM shape below can name it and the native shape still names the field.
 */
export function scimFail(factory: ErrorFactory, scimType: ScimType, field: string, problem: string): AppError {
  return fieldError(factory, field, scimType, problem);
}

function scimTypeOf(error: AppError): string | undefined {
  const rule = error.details[0]?.rule;
  if (rule && SCIM_TYPES.has(rule)) return rule;
  if (error.status === 409 && error.code.endsWith("_TAKEN")) return "uniqueness";
  if (error.code === "MALFORMED_JSON") return "invalidSyntax";
  if (error.status === 400) return "invalidValue";
  return undefined;
}

/**
 * Renders every failure of a SCIM route as RFC 7644 §3.12 says:
 * `{"schemas": [Error], "status": "409", "scimType": "uniqueness", "detail": "..."}`; `status` is
 * a string, `scimType` only where the RFC defines one (400 and 409). Server faults get a generic
 * detail (the log has the rest).
 */
export const scimErrorShape: ErrorShaper = (error) => {
  const status = error.status;
  const scimType = status === 400 || status === 409 ? scimTypeOf(error) : undefined;
  return {
    status,
    headers: { "content-type": "application/scim+json; charset=utf-8" },
    body: {
      schemas: [SCIM_ERROR_SCHEMA],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail: status >= 500 ? "an internal error occurred" : error.message,
    },
  };
};
