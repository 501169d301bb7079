import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  AppError,
  type ErrorDetail,
  fieldError,
  Internal,
  MalformedJson,
  PayloadTooLarge,
  RouteNotFound,
  UnsupportedMediaType,
  ValidationFailed,
} from "../errors.ts";

/** Renders an `AppError` in some product's error shape (native by default). */
export type ErrorShaper = (
  error: AppError,
  request: FastifyRequest,
) => { status: number; body: unknown; headers?: Record<string, string> };

/** The native shape: `{code, message, details, meta?, requestId}`. */
export const nativeErrorShape: ErrorShaper = (error, request) => ({
  status: error.status,
  body: {
    code: error.code,
    message: error.message,
    details: error.details,
    ...(error.meta ? { meta: error.meta } : {}),
    requestId: request.id,
  },
});

interface AjvError {
  instancePath: string;
  schemaPath?: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const CONTEXT_NAMES: Record<string, string> = { querystring: "query", params: "path", headers: "header", body: "body" };

/** Most details a validation error lists; the message says how many more there were. */
export const MAX_DETAILS = 20;
/** Schema failures read to build the details; beyond them failures are only counted. */
const MAX_READ_FAILURES = 200;
/** Longest user value quoted in a message before it is cut. */
export const MAX_QUOTED = 64;

/** A JSON pointer (`/add/0/name`) as a field path after `root`, in the one notation: `body.add[0].name`. */
export function pointerToField(root: string, pointer: string): string {
  let field = root;
  if (pointer === "") return field;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    field = /^\d+$/.test(key) ? `${field}[${key}]` : `${field}.${key}`;
  }
  return field;
}

/** A user value as quoted in a message: backticks, cut to `MAX_QUOTED` characters. */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const chars = [...text];
  return chars.length <= MAX_QUOTED
    ? `\`${text}\``
    : `\`${chars.slice(0, MAX_QUOTED).join("")}…\` (${chars.length} characters)`;
}

/**
 * A submitted value as echoed back in an error body (Nx1's `input`, Puppet's `submitted`): long
 * strings cut, long arrays and objects shortened, so a 100 KB value is not sent back whole.
 */
export function clipValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") {
    return value.length <= 256 ? value : `${value.slice(0, 256)}… (${value.length} characters)`;
  }
  if (value === null || typeof value !== "object") return value;
  if (depth >= 4) return Array.isArray(value) ? "[…]" : "{…}";
  if (Array.isArray(value)) {
    const head = value.slice(0, 20).map((v) => clipValue(v, depth + 1));
    return value.length > 20 ? [...head, `… (${value.length} items)`] : head;
  }
  const entries = Object.entries(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries.slice(0, 50)) out[k] = clipValue(v, depth + 1);
  if (entries.length > 50) out["…"] = `${entries.length} keys`;
  return out;
}

/** The values an `enum`/`const` failure allows, spelled for a message. */
function allowedList(values: unknown[]): string {
  return values.map((v) => `\`${typeof v === "string" ? v : JSON.stringify(v)}\``).join(", ");
}

/**
 * Folds an `anyOf` whose branches are all constants (TypeBox's union of literals) into one
 * `enum` failure that lists the allowed values, instead of one "must be equal to constant" per
 * branch plus "must match a schema in anyOf".
 */
function foldConstUnions(validation: AjvError[]): AjvError[] {
  const out: AjvError[] = [];
  for (const failure of validation) {
    if (failure.keyword !== "anyOf" || failure.schemaPath === undefined) {
      out.push(failure);
      continue;
    }
    const prefix = `${failure.schemaPath}/`;
    const branches = out.filter((f) => f.schemaPath?.startsWith(prefix) === true);
    const isNull = (f: AjvError) => f.keyword === "type" && f.params.type === "null";
    const real = branches.filter((f) => !isNull(f));
    if (branches.length > real.length && real.length > 0) {
      // a nullable field (`Union([X, Null])`): its real failure says it all, without the echoes
      // "must be null" and "must match a schema in anyOf"
      for (const echo of branches.filter(isNull)) out.splice(out.indexOf(echo), 1);
      continue;
    }
    const here = branches.filter((f) => f.instancePath === failure.instancePath);
    if (
      here.length === 0 ||
      here.length < branches.length ||
      !here.every((f) => f.keyword === "const" || f.keyword === "enum")
    ) {
      out.push(failure);
      continue;
    }
    const allowed = here.flatMap((f) =>
      f.keyword === "const" ? [f.params.allowedValue] : ((f.params.allowedValues as unknown[]) ?? []),
    );
    for (const branch of here) out.splice(out.indexOf(branch), 1);
    out.push({ ...failure, keyword: "enum", params: { allowedValues: allowed } });
  }
  return out;
}

/** Turns schema-validation failures into details that name the field and the rule. */
export function validationDetails(validation: AjvError[], context: string | undefined): ErrorDetail[] {
  const root = CONTEXT_NAMES[context ?? "body"] ?? context ?? "body";
  return foldConstUnions(validation).map((failure) => {
    let field = pointerToField(root, failure.instancePath);
    if (failure.keyword === "required") field += `.${String(failure.params.missingProperty)}`;
    if (failure.keyword === "additionalProperties") field += `.${String(failure.params.additionalProperty)}`;
    const rule = failure.keyword;
    const message =
      rule === "additionalProperties"
        ? `${field}: is not a known field`
        : rule === "required"
          ? `${field}: is required`
          : rule === "enum"
            ? `${field}: must be one of ${allowedList((failure.params.allowedValues as unknown[]) ?? [])}`
            : rule === "const"
              ? `${field}: must be ${allowedList([failure.params.allowedValue])}`
              : `${field}: ${failure.message ?? `fails ${rule}`}`;
    return { field, rule, message };
  });
}

/** A schema-validation failure as the catalogue's VALIDATION_FAILED, naming every field. */
function validationFailed(validation: AjvError[], context: string | undefined): AppError {
  // A 100,000-item array of wrong values fails 100,000 times: the first failures are read, the
  // rest only counted, so an error costs no more than the request that caused it.
  const read = validation.length > MAX_READ_FAILURES ? validation.slice(0, MAX_READ_FAILURES) : validation;
  const all = validationDetails(read, context);
  const details = all.slice(0, MAX_DETAILS);
  const unread = all.length - details.length + validation.length - read.length;
  const more = unread > 0 ? `; and ${unread} more` : "";
  return ValidationFailed(details.map((d) => d.message).join("; ") + more, { details });
}

/**
 * Fastify `schemaErrorFormatter`: builds the VALIDATION_FAILED error directly, so a rejected
 * request creates one error (and captures one stack) instead of Fastify's own error with its
 * composed message, which the error handler then translated.
 */
export function schemaErrorFormatter(errors: unknown[], dataVar: string): Error {
  return validationFailed(errors as AjvError[], dataVar);
}

/** The 415 message: the content type sent, or that none was sent although a body was. */
function unsupportedType(given: string | undefined): string {
  const type = given?.trim();
  return type && type !== "undefined"
    ? `header.content-type: \`${type.slice(0, MAX_QUOTED)}\` is not supported: send \`application/json\``
    : "header.content-type: is required with a request body: send `application/json`";
}

/** Busboy's messages for a body that is not the multipart it claims to be. */
const MULTIPART_ERROR = /^(Multipart: |Malformed part header|Unexpected end of (form|file)|Malformed urlencoded form)/;

/** Maps anything thrown during a request to an `AppError`; unknown errors become INTERNAL. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fastifyError.validation) return validationFailed(fastifyError.validation, fastifyError.validationContext);
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return PayloadTooLarge("the request body is larger than the limit of this route", { cause: error });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return UnsupportedMediaType(unsupportedType(fastifyError.message.split(": ")[1]));
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return MalformedJson("body: must not be empty when content-type is application/json");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return MalformedJson(`body: is not valid json: ${fastifyError.message}`);
    default:
      break;
  }
  if (fastifyError.statusCode === 400 && error instanceof SyntaxError) {
    return MalformedJson(`body: is not valid json: ${error.message}`);
  }
  // Multipart bodies (Nx1 bulk upload): busboy's parse errors are plain errors, @fastify/multipart's
  // limits carry a 4xx status; either is the body's fault, not the server's.
  if (MULTIPART_ERROR.test(fastifyError.message ?? "") || fastifyError.code?.startsWith("FST_") === true) {
    if (fastifyError.statusCode === 413) {
      return PayloadTooLarge(`body: ${fastifyError.message.toLowerCase()}`, { cause: error });
    }
    if (
      MULTIPART_ERROR.test(fastifyError.message ?? "") ||
      fastifyError.statusCode === 400 ||
      fastifyError.statusCode === 406
    ) {
      return fieldError(
        ValidationFailed,
        "body",
        "multipart",
        `is not valid multipart/form-data: ${fastifyError.message}`,
      );
    }
  }
  // The static-file server of the interactive reference refuses a path outside its folder
  // (`/docs/static/../../package.json`) with a 403, and a missing file with a 404: no such route.
  if (fastifyError.statusCode === 403 || fastifyError.statusCode === 404) {
    return RouteNotFound("path: names no route and no file", { cause: error });
  }
  return Internal("internal error", { cause: error });
}

/**
 * Installs the error and not-found handlers. Errors below 500 are exposed as they are; anything
 * else is logged in full and answered with a generic INTERNAL body (the oidc-provider split).
 * Routes that reproduce another product's API choose their shape with `config.errorShape`.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      request.log.error({ err: appError.cause ?? appError, code: appError.code }, "request failed");
    } else {
      request.log.debug({ code: appError.code, message: appError.message }, "request rejected");
    }
    const shaper = (request.routeOptions.config as { errorShape?: ErrorShaper }).errorShape ?? nativeErrorShape;
    const { status, body, headers } = shaper(appError, request);
    for (const [name, value] of Object.entries({ ...appError.headers, ...headers })) reply.header(name, value);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const error = RouteNotFound(`no route \`${request.method} ${request.url.split("?")[0]}\``);
    return reply.code(404).send(nativeErrorShape(error, request).body);
  });
}
