import type { FastifyRequest } from "fastify";
import type { AppError } from "../../errors.ts";
import { clipValue, type ErrorShaper } from "../../http/error-handler.ts";

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08001",
  "08003",
  "08006",
]);

/** True when an error (or its cause chain) says the database cannot be reached. */
export function isDatabaseDown(error: unknown): boolean {
  for (
    let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.code === "string" && CONNECTION_CODES.has(e.code)) return true;
    const message = typeof e.message === "string" ? e.message : "";
    if (
      /connection terminated|timeout exceeded when trying to connect|pglite is closed|database is unavailable/i.test(
        message,
      )
    ) {
      return true;
    }
    e = e.cause as typeof e;
  }
  return false;
}

/**
 * The status an Nx1 client expects. FastAPI answers malformed and schema-invalid bodies with 422;
 * semantic failures stay 400; an unreachable database is 503; other server faults are 500 with a
 * generic message (details go to the log, never to the client).
 */
function nx1Status(error: AppError): number {
  if (error.code === "VALIDATION_FAILED" || error.code === "MALFORMED_JSON") return 422;
  if (error.code === "DATABASE_UNAVAILABLE" || (error.status >= 500 && isDatabaseDown(error.cause ?? error)))
    return 503;
  return error.status;
}

function nx1Message(error: AppError, status: number): string {
  // names the target and its answer (docs/connectors.md): the seed's 502
  if (error.code === "CONNECTOR_DELIVERY_FAILED") return error.message;
  if (status === 503) return "the database is unavailable; retry shortly";
  if (status >= 500) return "internal error";
  return withNx1Hint(error);
}

/** An error's message with the remedy an Nx1 client has: a taken name is updated with `overwrite`. */
export function withNx1Hint(error: AppError): string {
  return error.code === "POLICY_NAME_TAKEN" ? `${error.message}; set overwrite=true to update it` : error.message;
}

/** Nx1's `ErrorResponse {"error", "code"}` for every failure (Policy Management routes). */
export const nx1ErrorShape: ErrorShaper = (error) => {
  const status = nx1Status(error);
  return { status, body: { error: nx1Message(error, status), code: status } };
};

function valueAt(root: unknown, loc: (string | number)[]): unknown {
  let v = root;
  for (const key of loc) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

const FASTAPI_TYPES: Record<string, [type: string, msg: string]> = {
  required: ["missing", "Field required"],
  type: ["type_error", "Input has the wrong type"],
  minLength: ["string_too_short", "String should have at least the required length"],
  maxLength: ["string_too_long", "String should have at most the allowed length"],
  additionalProperties: ["extra_forbidden", "Extra inputs are not permitted"],
  maxItems: ["too_long", "List should have at most the allowed number of items"],
};

/** Pydantic's error type and message for a value of the wrong JSON type. */
const PYDANTIC_TYPES: Record<string, [type: string, msg: string]> = {
  array: ["list_type", "Input should be a valid list"],
  string: ["string_type", "Input should be a valid string"],
  object: ["dict_type", "Input should be a valid dictionary"],
  integer: ["int_type", "Input should be a valid integer"],
  number: ["float_type", "Input should be a valid number"],
  boolean: ["bool_type", "Input should be a valid boolean"],
};

/** Turns `body.items.0`-style fields into FastAPI's `loc` (`["body", "items", 0]`). */
function locOf(field: string): (string | number)[] {
  return field
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .filter((p) => p !== "")
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * FastAPI's `HTTPValidationError {"detail": [{loc, msg, type, input}]}` for schema failures (422),
 * and `ErrorResponse` for everything else; used by the routes whose seed declares that shape.
 */
export const fastApiValidationShape: ErrorShaper = (error, request: FastifyRequest) => {
  if (error.code === "VALIDATION_FAILED" || error.code === "MALFORMED_JSON") {
    const details =
      error.details.length > 0
        ? error.details
        : [
            {
              field: "body",
              rule: error.code === "MALFORMED_JSON" ? "json_invalid" : "invalid",
              message: error.message,
            },
          ];
    return {
      status: 422,
      body: {
        detail: details.map((d) => {
          const loc = locOf(d.field);
          const expected = d.rule === "type" ? /must be (\w+)/.exec(d.message)?.[1] : undefined;
          const [type, msg] = (expected && PYDANTIC_TYPES[expected]) ?? FASTAPI_TYPES[d.rule] ?? [d.rule, d.message];
          const input = loc[0] === "body" ? valueAt(request.body, loc.slice(1)) : undefined;
          return {
            loc,
            msg: d.rule in FASTAPI_TYPES ? `${msg}: ${d.message}` : msg,
            type,
            input: clipValue(input ?? null),
          };
        }),
      },
    };
  }
  return nx1ErrorShape(error, request);
};
