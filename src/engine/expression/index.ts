/**
 * Gatehouse's safe expression language: the subset of JavaScript that Ranger policies use in
 * script conditions (`RangerScriptConditionEvaluator`, `…TemplateConditionEvaluator`) and in
 * `${{…}}` request expressions (`RangerRequestExprResolver`). Policy text is parsed with jsep
 * plus a small statement layer and compiled into closures over an allow-list; it is never
 * handed to eval, `new Function` or vm. See docs/engine-expressions.md.
 *
 * Typical use:
 * ```ts
 * const cond = compileExpression("IS_IN_GROUP('finance') && USER.dept == 'fin'"); // on policy load
 * const ok = evaluateCondition(cond, env);                                       // per request
 * const filter = resolveTemplate(compileTemplate("dept='${{USER.dept}}'"), env);
 * ```
 */
export {
  compileExpression,
  evaluate,
  evaluateCondition,
  validateExpression,
} from "./compile.ts";
export { ExpressionError, ExpressionRuntimeError } from "./errors.ts";
export { compileTemplate, hasExpressions, resolveTemplate, validateTemplate } from "./template.ts";
export type {
  CompiledExpression,
  CompiledTemplate,
  EvaluateOptions,
  ExpressionEnv,
  ExpressionIssue,
  ExpressionValidation,
} from "./types.ts";
