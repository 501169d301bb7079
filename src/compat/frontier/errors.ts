import { Type } from "typebox";
import type { AppError } from "../../errors.ts";
import type { ErrorShaper } from "../../http/error-handler.ts";

// Frontier's REST gateway answers errors as a google.rpc.Status in JSON: a numeric gRPC code, a
// message and typed details. The HTTP status follows grpc-gateway's code → status table.

/** gRPC status codes Frontier sends, with grpc-gateway's HTTP status for each. */
const GRPC = {
  INVALID_ARGUMENT: [3, 400],
  NOT_FOUND: [5, 404],
  ALREADY_EXISTS: [6, 409],
  PERMISSION_DENIED: [7, 403],
  FAILED_PRECONDITION: [9, 400],
  RESOURCE_EXHAUSTED: [8, 429],
  UNIMPLEMENTED: [12, 501],
  INTERNAL: [13, 500],
  UNAVAILABLE: [14, 503],
  UNAUTHENTICATED: [16, 401],
} as const satisfies Record<string, readonly [number, number]>;

/** Which gRPC code a native error becomes (Frontier's mapping, peers.md §A2). */
function grpcOf(error: AppError): keyof typeof GRPC {
  // A reference to something absent (an unknown organisation or user) is NOT_FOUND in Frontier.
  if (error.code === "REFERENCE_NOT_FOUND") return "NOT_FOUND";
  // Removing the last owner is invalid_argument in Frontier's RemoveGroupUser.
  if (error.code === "GROUP_LAST_OWNER") return "INVALID_ARGUMENT";
  // A group that policies still name: gRPC's code for "not in the state the operation needs"
  // (its own example is deleting a non-empty directory), not ALREADY_EXISTS.
  if (error.code === "PRINCIPAL_IN_POLICIES") return "FAILED_PRECONDITION";
  if (error.status === 401) return "UNAUTHENTICATED";
  if (error.status === 403) return "PERMISSION_DENIED";
  if (error.status === 404) return "NOT_FOUND";
  if (error.status === 409) return "ALREADY_EXISTS";
  if (error.status === 429) return "RESOURCE_EXHAUSTED";
  if (error.status === 503) return "UNAVAILABLE";
  // Something Frontier has and Gatehouse deliberately does not serve: grpc-gateway's 501.
  if (error.status === 501) return "UNIMPLEMENTED";
  if (error.status >= 500) return "INTERNAL";
  return "INVALID_ARGUMENT";
}

/** The `google.rpc.Status` body: `{code, message, details[]}`. */
export const FrontierError = Type.Object(
  {
    code: Type.Integer({ description: "gRPC status code (3 invalid argument, 5 not found, 6 already exists, ...)" }),
    message: Type.String(),
    details: Type.Array(Type.Object({ "@type": Type.String() }, { additionalProperties: true })),
  },
  { title: "FrontierError" },
);

/** Response schemas for the error statuses a Frontier route documents. */
export function frontierErrors(...statuses: number[]): Record<number, typeof FrontierError> {
  return Object.fromEntries(statuses.map((s) => [s, FrontierError]));
}

/**
 * Renders every failure as Frontier does. Field problems travel as a `google.rpc.BadRequest`
 * detail with one violation per field (`name`, `metadata.labels`), so clients that read the
 * gateway's details still find them; server faults are code 13 with a generic message.
 */
export const frontierErrorShape: ErrorShaper = (error) => {
  const [code, status] = GRPC[grpcOf(error)];
  if (status >= 500 && status !== 501) return { status, body: { code, message: "internal server error", details: [] } };
  let message = error.message;
  if (error.code === "METADATA_INVALID")
    message = `invalid syntax in body : metadata schema validation failed: ${message}`;
  const details =
    error.details.length > 0 && status === 400
      ? [
          {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            fieldViolations: error.details.map((d) => ({
              field: d.field.replace(/^(body|path|query)\./, ""),
              description: d.message,
            })),
          },
        ]
      : [];
  return { status, body: { code, message, details } };
};
