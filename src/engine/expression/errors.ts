/**
 * A script was rejected at compile/validation time. The message names the construct and its
 * offset, e.g. "`new` expressions are not allowed at 12".
 */
export class ExpressionError extends Error {
  /** 0-based offset in the source. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} at ${position}`);
    this.name = "ExpressionError";
    this.position = position;
  }
}

/** A script failed while evaluating (Ranger: a ScriptException, logged and treated as no result). */
export class ExpressionRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpressionRuntimeError";
  }
}
