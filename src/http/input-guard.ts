import { isUtf8 } from "node:buffer";
import { Ajv, type Options as AjvOptions, type ValidateFunction } from "ajv";
import * as ajvFormats from "ajv-formats";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type AppError, fieldError, ValidationFailed } from "../errors.ts";

/**
 * Input rules every request obeys before any route sees it (docs/input-rules.md). They guard what
 * no route schema can say once for all: strings PostgreSQL can store (no NUL, no lone surrogate,
 * valid UTF-8 bytes) and documents shallow enough to serialise without exhausting the stack.
 */

/** Deepest nesting of arrays and objects accepted in a body, query or path (the root is depth 0). */
export const MAX_DEPTH = 32;

/** The rule names the guard reports in `details[].rule`. */
export const INPUT_RULES = {
  nul: "noNulCharacter",
  unicode: "wellFormedUnicode",
  utf8: "validUtf8",
  depth: "maxDepth",
} as const;

/** Appends a key to a field path in the one notation of error details: `body.items[0].name`. */
export function fieldPath(parent: string, key: string | number): string {
  return typeof key === "number" ? `${parent}[${key}]` : `${parent}.${key}`;
}

function checkString(value: string, field: string): AppError | null {
  if (value.includes("\u0000")) {
    return fieldError(ValidationFailed, field, INPUT_RULES.nul, "must not contain the NUL character (U+0000)");
  }
  if (!value.isWellFormed()) {
    return fieldError(
      ValidationFailed,
      field,
      INPUT_RULES.unicode,
      "must be well-formed Unicode (a lone surrogate such as `\\ud800` is not)",
    );
  }
  return null;
}

/**
 * Walks a parsed value and returns the first breach of the input rules, or null. Recursion stops
 * at `MAX_DEPTH`, so a 5,000-deep document costs 33 frames, not 5,000.
 */
export function checkInput(value: unknown, field: string, depth = 0): AppError | null {
  if (typeof value === "string") return checkString(value, field);
  if (value === null || typeof value !== "object") return null;
  if (depth >= MAX_DEPTH) {
    return fieldError(
      ValidationFailed,
      field,
      INPUT_RULES.depth,
      `must not nest arrays and objects more than ${MAX_DEPTH} levels deep`,
    );
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const breach = checkInput(value[i], fieldPath(field, i), depth + 1);
      if (breach) return breach;
    }
    return null;
  }
  for (const key in value) {
    const here = fieldPath(field, key);
    const keyBreach = checkString(key, here);
    if (keyBreach) return keyBreach;
    const breach = checkInput((value as Record<string, unknown>)[key], here, depth + 1);
    if (breach) return breach;
  }
  return null;
}

/**
 * Whether a value obeys the input rules: the walk of `checkInput` without building a field path
 * for every key and item, which on a clean 100-item batch cost more than the check itself. Only a
 * value that breaks a rule is walked again, by `checkInput`, to name the field.
 */
export function obeysInputRules(value: unknown, depth: number): boolean {
  if (typeof value === "string") return !value.includes("\u0000") && value.isWellFormed();
  if (value === null || typeof value !== "object") return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!obeysInputRules(value[i], depth + 1)) return false;
    return true;
  }
  for (const key in value) {
    if (key.includes("\u0000") || !key.isWellFormed()) return false;
    if (!obeysInputRules((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** The guard over one request's decoded inputs: path, query and body, in that order. */
export function checkRequest(request: FastifyRequest): AppError | null {
  const { params, query, body } = request;
  if (obeysInputRules(params, 1) && obeysInputRules(query, 1) && obeysInputRules(body, 0)) return null;
  return checkInput(params, "path", 1) ?? checkInput(query, "query", 1) ?? checkInput(body, "body");
}

type JsonParser = ReturnType<FastifyInstance["getDefaultJsonParser"]>;

/**
 * The JSON body parser every route uses: the bytes must be valid UTF-8 (Node would otherwise turn
 * a 0xFF byte into U+FFFD silently), then Fastify's own parser runs with the app's poisoning rules.
 * `allowEmpty` makes an empty body no body (the compatibility plugins' clients send the JSON
 * content type on every call).
 */
export function installJsonParser(app: FastifyInstance, opts: { allowEmpty: boolean }): void {
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  const parse: JsonParser = app.getDefaultJsonParser(onProtoPoisoning ?? "error", onConstructorPoisoning ?? "error");
  if (app.hasContentTypeParser("application/json")) app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0 && opts.allowEmpty) return done(null, undefined);
    if (!isUtf8(bytes)) {
      return done(fieldError(ValidationFailed, "body", INPUT_RULES.utf8, "must be valid UTF-8 bytes"), undefined);
    }
    parse(request, bytes.toString("utf8"), done);
  });
}

const formats = ajvFormats.default as unknown as (ajv: Ajv) => void;

function makeAjv(options: AjvOptions): Ajv {
  const ajv = new Ajv({
    removeAdditional: false,
    allErrors: true,
    useDefaults: true,
    addUsedSchema: false,
    ...options,
  });
  formats(ajv);
  return ajv;
}

/**
 * The app's schema compiler: JSON bodies are validated as sent (`{"name": 5}` is a 400, not group
 * "5"), while query strings, path parameters and headers, which are text on the wire, may still
 * coerce (`?limit=10`, `?id=a` as a one-item array).
 */
export function installValidatorCompiler(app: FastifyInstance): void {
  const body = makeAjv({ coerceTypes: false });
  const text = makeAjv({ coerceTypes: "array" });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === "body" ? body : text;
    const id = (schema as { $id?: string }).$id;
    const stored = id ? ajv.getSchema(id) : undefined;
    return (stored ?? ajv.compile(schema as object)) as ValidateFunction;
  });
}

/**
 * Installs the guard: the UTF-8-checking JSON parser, the compiler above, and a `preValidation`
 * hook refusing NUL characters, lone surrogates and over-deep documents with a 400 that names the
 * field and the rule, in the route's own error shape, before any schema, handler or SQL runs.
 */
export function installInputGuard(app: FastifyInstance): void {
  installJsonParser(app, { allowEmpty: false });
  installValidatorCompiler(app);
  app.addHook("preValidation", (request, _reply, done) => {
    done(checkRequest(request) ?? undefined);
  });
}
