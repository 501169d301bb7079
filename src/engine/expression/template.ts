import type { CompiledTemplate, EvaluateOptions, ExpressionEnv, ExpressionValidation } from "./types.ts";

/** True when `str` contains a `${{…}}` request expression. */
export function hasExpressions(str: string): boolean {
  return /\$\{\{.*?\}\}/.test(str);
}

/**
 * Compiles every `${{expr}}` in a resource value, mask or row-filter expression.
 *
 * @throws ExpressionError when an embedded expression is rejected (offset into `source`).
 */
export function compileTemplate(source: string): CompiledTemplate {
  throw new Error(`not implemented: ${source}`);
}

/** Validation of every embedded expression, offsets relative to `source`. */
export function validateTemplate(source: string): ExpressionValidation {
  throw new Error(`not implemented: ${source}`);
}

/**
 * Substitutes each `${{expr}}` with its value (RangerRequestExprResolver#resolveExpressions):
 * strings as-is, null/undefined or a failing expression as "null", other values via String().
 */
export function resolveTemplate(template: CompiledTemplate, env: ExpressionEnv, options?: EvaluateOptions): string {
  throw new Error(`not implemented: ${template.source} ${String(env)} ${String(options)}`);
}
