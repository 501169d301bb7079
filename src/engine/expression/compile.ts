import type { CompiledExpression, EvaluateOptions, ExpressionEnv, ExpressionValidation } from "./types.ts";

/**
 * Parses and compiles a script (condition text or the inside of `${{…}}`).
 * Ranger macros (IS_IN_GROUP, HAS_TAG, …) and `[[expr,'sep']]` edits are applied.
 *
 * @throws ExpressionError naming the rejected construct and its offset.
 */
export function compileExpression(source: string): CompiledExpression {
  throw new Error(`not implemented: ${source}`);
}

/** Write-time validation: every rejected construct as an error, unknown variables as warnings. */
export function validateExpression(source: string): ExpressionValidation {
  throw new Error(`not implemented: ${source}`);
}

/**
 * Evaluates a compiled script and returns its completion value (what Ranger's script engine
 * returns from `eval`).
 *
 * @throws ExpressionRuntimeError when the script fails (unknown variable, step limit, ...).
 */
export function evaluate(compiled: CompiledExpression, env: ExpressionEnv, options?: EvaluateOptions): unknown {
  throw new Error(`not implemented: ${compiled.source} ${String(env)} ${String(options)}`);
}

/**
 * Ranger's script-condition semantic (`RangerRequestScriptEvaluator#evaluateConditionScript`):
 * the script's completion value decides when it is a boolean; otherwise `ctx.result` (default
 * false) does. A failing script yields `ctx.result` as set so far. Never throws.
 */
export function evaluateCondition(
  compiled: CompiledExpression,
  env: ExpressionEnv,
  options?: EvaluateOptions,
): boolean {
  throw new Error(`not implemented: ${compiled.source} ${String(env)} ${String(options)}`);
}
