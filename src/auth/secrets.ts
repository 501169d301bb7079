import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Hash of a generated secret. Secrets here are 256-bit random values, so a fast hash is enough
 * (no password stretching is needed for keys nobody chose); only the hash is ever stored.
 */
export function hashSecret(secret: string): string {
  // One-shot `hash` rather than createHash().update().digest(): no Hash object per call, and this
  // runs on every authenticated request.
  return hash("sha256", secret, "base64url");
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(presented));
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A new random secret: `prefix_` followed by 43 base64url characters (256 bits). */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

/** A short random identifier for key prefixes and client ids. */
export function newPublicId(bytes = 9): string {
  return randomBytes(bytes).toString("base64url").replace(/[-_]/g, "x");
}
