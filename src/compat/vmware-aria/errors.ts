import { Type } from "typebox";
import type { ErrorDetail } from "../../errors.ts";
import type { ErrorShaper } from "../../http/error-handler.ts";

// VMware Aria Operations answers errors with its `error` object: a message, the HTTP status
// repeated, an API error code and the validation failures with the path of each.

/** Aria's API error code for an expired token. */
const TOKEN_EXPIRED = 1512;

/** Native field names that Aria calls otherwise (the group's DN travels in `name`). */
const ARIA_FIELDS: Record<string, string> = {
  externalId: "name",
  identitySourceId: "authSourceId",
  orgId: "authSourceId",
};

/** `body.add[3]` → `userIds[3]`, `body.externalId` → `name`: the path an Aria client sent. */
export function violationPathOf(field: string): string {
  const path = field.replace(/^(body|path|query|header)\.?/, "").replace(/\.(\d+)(?=\.|$)/g, "[$1]");
  const add = /^(?:add|remove)\[(\d+)\]$/.exec(path);
  if (add) return `userIds[${add[1]}]`;
  return ARIA_FIELDS[path] ?? path;
}

/** The `error` object. */
export const AriaError = Type.Object(
  {
    message: Type.String(),
    httpStatusCode: Type.Integer(),
    apiErrorCode: Type.Integer({ description: "The HTTP status, or 1512 for an expired token" }),
    validationFailures: Type.Optional(
      Type.Array(Type.Object({ failureMessage: Type.String(), violationPath: Type.String() })),
    ),
  },
  { title: "AriaError" },
);

/** Response schemas for the error statuses an Aria route documents. */
export function ariaErrors(...statuses: number[]): Record<number, typeof AriaError> {
  return Object.fromEntries(statuses.map((s) => [s, AriaError]));
}

/**
 * Renders every failure as Aria does; field problems become `validationFailures` with Aria's
 * paths. Statuses stay as the directory decided (422 for an unknown DN, which Aria would have
 * silently imported as an orphan). Server faults other than a directory outage get a generic message.
 */
/**
 * Drops the echoes a nullable field's schema adds to its real failure (`must be null`, `must match
 * a schema in anyOf`), so a bad `authSourceId` is reported once.
 */
function relevant(details: ErrorDetail[]): ErrorDetail[] {
  const echo = (d: ErrorDetail) => d.rule === "anyOf" || (d.rule === "type" && d.message.endsWith("must be null"));
  const real = details.filter((d) => !echo(d)).map((d) => d.field);
  const explained = (field: string) =>
    real.some((r) => r === field || r.startsWith(`${field}.`) || r.startsWith(`${field}[`));
  return details.filter((d) => !echo(d) || !explained(d.field));
}

/**
 * Native messages name native fields (`body.role-permissions[0].roleName: …`); Aria clients know
 * them by the paths `violationPath` gives (`role-permissions[0].roleName`, `name`, `userIds[2]`).
 */
export function ariaMessage(message: string): string {
  return message.replace(/\b(?:body|path|query)\.[\w\-[\].]+(?=:)/g, (field) => violationPathOf(field));
}

export const ariaErrorShape: ErrorShaper = (error) => {
  const status = error.status;
  const details = relevant(error.details);
  const message =
    status >= 500 && error.code !== "DIRECTORY_UNAVAILABLE"
      ? "internal error"
      : details.length > 0 && details.length < error.details.length
        ? ariaMessage(details.map((d) => d.message).join("; "))
        : ariaMessage(error.message);
  const expired = status === 401 && /expired/.test(error.message);
  return {
    status,
    body: {
      message,
      httpStatusCode: status,
      apiErrorCode: expired ? TOKEN_EXPIRED : status,
      ...(details.length > 0 && status < 500
        ? {
            validationFailures: details.map((d) => ({
              failureMessage: ariaMessage(d.message),
              violationPath: violationPathOf(d.field),
            })),
          }
        : {}),
    },
  };
};
