import { fieldError } from "../errors.ts";

/**
 * The directory's name for `fieldError`: an error whose message and single detail name the same
 * field and rule, so every 4xx the directory answers points at the exact input that failed.
 */
export const fail = fieldError;

/** True for PostgreSQL's unique-violation error (both backends report SQLSTATE 23505). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === "23505";
}

/**
 * True for PostgreSQL's foreign-key-violation error (SQLSTATE 23503 on both backends), of
 * `constraint` when given.
 */
export function isForeignKeyViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e.code !== "23503") return false;
  return constraint === undefined || e.constraint === constraint || (e.message ?? "").includes(`"${constraint}"`);
}
