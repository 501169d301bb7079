import { Forbidden } from "../errors.ts";
import type { Actor } from "./actor.ts";

/**
 * What a route may require. Each route declares exactly one (route `config.ability`); a test
 * walks every registered route, so a route added without a declaration fails the suite.
 * - `public`: no credentials (health, metrics, the API reference).
 * - `authenticated`: any valid credential (whoami).
 * - the rest: granted by the built-in roles' permissions (`*` grants all).
 */
export const ABILITIES = [
  "public",
  "authenticated",
  "directory.read",
  "directory.write",
  "policy.read",
  "policy.write",
  "decision.check",
  "audit.read",
  "credentials.write",
] as const;

export type Ability = (typeof ABILITIES)[number];

/** Abilities that change state: a `viewer` must get 403 on every route that declares one. */
export const WRITE_ABILITIES: ReadonlySet<Ability> = new Set(["directory.write", "policy.write", "credentials.write"]);

/** Built-in admin-plane roles; their permissions live in the `roles` table (migration 0001). */
export const BUILTIN_ROLES = ["gatehouse-admin", "directory-admin", "policy-admin", "auditor", "viewer"] as const;

/** True when `actor` holds `ability`. */
export function can(actor: Pick<Actor, "type" | "permissions">, ability: Ability): boolean {
  if (ability === "public") return true;
  if (actor.type === "anonymous") return false;
  if (ability === "authenticated") return true;
  return actor.permissions.has("*") || actor.permissions.has(ability);
}

/** Throws FORBIDDEN unless `actor` holds `ability`; routes call it before touching data. */
export function authorize(actor: Actor, ability: Ability): void {
  if (!can(actor, ability)) {
    throw Forbidden(`not allowed to ${ability.replace(".", " ")}: \`${actor.name}\` lacks the ability \`${ability}\``);
  }
}
