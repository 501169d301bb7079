import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  AppError,
  type ErrorDetail,
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
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const CONTEXT_NAMES: Record<string, string> = { querystring: "query", params: "path", headers: "header", body: "body" };

/** Turns schema-validation failures into details that name the field and the rule. */
export function validationDetails(validation: AjvError[], context: string | undefined): ErrorDetail[] {
  const root = CONTEXT_NAMES[context ?? "body"] ?? context ?? "body";
  return validation.map((failure) => {
    let field = root + failure.instancePath.replaceAll("/", ".");
    if (failure.keyword === "required") field += `.${String(failure.params.missingProperty)}`;
    if (failure.keyword === "additionalProperties") field += `.${String(failure.params.additionalProperty)}`;
    const rule = failure.keyword;
    const message =
      rule === "additionalProperties"
        ? `${field}: is not a known field`
        : rule === "required"
          ? `${field}: is required`
          : `${field}: ${failure.message ?? `fails ${rule}`}`;
    return { field, rule, message };
  });
}

/** A schema-validation failure as the catalogue's VALIDATION_FAILED, naming every field. */
function validationFailed(validation: AjvError[], context: string | undefined): AppError {
  const details = validationDetails(validation, context);
  return ValidationFailed(details.map((d) => d.message).join("; "), { details });
}

/**
 * Fastify `schemaErrorFormatter`: builds the VALIDATION_FAILED error directly, so a rejected
 * request creates one error (and captures one stack) instead of Fastify's own error with its
 * composed message, which the error handler then translated.
 */
export function schemaErrorFormatter(errors: unknown[], dataVar: string): Error {
  return validationFailed(errors as AjvError[], dataVar);
}

/** Maps anything thrown during a request to an `AppError`; unknown errors become INTERNAL. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fastifyError.validation) return validationFailed(fastifyError.validation, fastifyError.validationContext);
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return PayloadTooLarge("the request body is larger than the limit of this route", { cause: error });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return UnsupportedMediaType(`content type \`${fastifyError.message.split(": ")[1] ?? ""}\` is not supported`);
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
