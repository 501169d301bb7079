import type { AppError, ErrorFactory } from "../errors.ts";

/**
 * Builds an error whose message and single detail name the same field and rule, so every 4xx the
 * directory answers points at the exact input that failed (`body.name: ...`).
 */
export function fail(
  factory: ErrorFactory,
  field: string,
  rule: string,
  message: string,
  meta?: Record<string, unknown>,
): AppError {
  const text = `${field}: ${message}`;
  return factory(text, { details: [{ field, rule, message: text }], ...(meta ? { meta } : {}) });
}

/** True for PostgreSQL's unique-violation error (both backends report SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === "23505";
}
