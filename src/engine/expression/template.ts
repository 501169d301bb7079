import { compileExpression, evaluate, validateExpression } from "./compile.ts";
import { ExpressionError } from "./errors.ts";
import type {
  CompiledExpression,
  CompiledTemplate,
  EvaluateOptions,
  ExpressionEnv,
  ExpressionIssue,
  ExpressionValidation,
} from "./types.ts";

/** RangerRequestExprResolver's pattern: `${{` … the nearest `}}`, on one line. */
const PATTERN = /\$\{\{(.*?)\}\}/g;

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
  const parts: (string | CompiledExpression)[] = [];
  let last = 0;
  for (const m of source.matchAll(PATTERN)) {
    const at = m.index as number;
    parts.push(source.slice(last, at));
    try {
      parts.push(compileExpression(m[1]));
    } catch (e) {
      if (e instanceof ExpressionError) {
        throw new ExpressionError(e.message.replace(/ at \d+$/, ""), at + 3 + e.position);
      }
      throw e;
    }
    last = at + m[0].length;
  }
  parts.push(source.slice(last));
  return Object.freeze({ source, hasExpressions: parts.length > 1, parts: Object.freeze(parts) });
}

/** Validation of every embedded expression, offsets relative to `source`. */
export function validateTemplate(source: string): ExpressionValidation {
  const errors: ExpressionIssue[] = [];
  const warnings: ExpressionIssue[] = [];
  for (const m of source.matchAll(PATTERN)) {
    const base = (m.index as number) + 3;
    const v = validateExpression(m[1]);
    for (const e of v.errors) errors.push({ message: e.message, position: base + e.position });
    for (const w of v.warnings) warnings.push({ message: w.message, position: base + w.position });
  }
  return { errors, warnings };
}

/** Java's Objects.toString of what the script engine returned. */
function display(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return v;
  return String(v);
}

/**
 * Substitutes each `${{expr}}` with its value (RangerRequestExprResolver#resolveExpressions):
 * strings as-is, null/undefined or a failing expression as "null", other values via String().
 * The value is inserted literally (Ranger's appendReplacement would interpret `$` and `\`).
 */
export function resolveTemplate(template: CompiledTemplate, env: ExpressionEnv, options?: EvaluateOptions): string {
  if (!template.hasExpressions) return template.source;
  let out = "";
  for (const p of template.parts) {
    if (typeof p === "string") {
      out += p;
      continue;
    }
    let v: unknown;
    try {
      v = evaluate(p, env, options);
    } catch {
      v = null;
    }
    out += display(v);
  }
  return out;
}
