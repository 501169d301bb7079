import { Ajv } from "ajv";
import type { FastifySchemaCompiler } from "fastify";

/**
 * Nx1 is FastAPI: pydantic refuses a string where a list is expected (`"values": "hive"` is 422
 * `list_type`), while the app-wide validator turns scalars into one-element arrays. Routes that
 * reproduce an Nx1 JSON body validate with this one instead, so such a body is a 422 naming the
 * field rather than a policy or group the caller did not describe.
 */
const strict = new Ajv({ coerceTypes: false, useDefaults: true, allErrors: true, strict: false });

/** `validatorCompiler` for Nx1 JSON bodies: no type coercion, defaults applied. */
export const nx1StrictValidator: FastifySchemaCompiler<unknown> = ({ schema }) => strict.compile(schema as object);
