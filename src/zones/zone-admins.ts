import type { FastifyRequest } from "fastify";
import { can } from "../auth/abilities.ts";
import type { Actor } from "../auth/actor.ts";
import { PrincipalCache } from "../decisions/principals.ts";
import { type AppError, Forbidden } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";

/** The caller fields the zone rule reads (an audit context's actor is enough). */
export type ZoneCallerActor = Pick<Actor, "type" | "id" | "name" | "permissions">;

/** Policy abilities a zone administrator or auditor can stand in for, inside the zone. */
export type PolicyAbility = "policy.read" | "policy.write";

/**
 * What a caller without the service-wide ability may do, zone by zone: administer (`admin`: create,
 * update, delete and read the zone's policies) or audit (`audit`: read them). `who` names the
 * caller in refusals.
 */
export interface ZoneAuthority {
  who: string;
  admin: ReadonlySet<string>;
  audit: ReadonlySet<string>;
}

/** Ranger adds the group `public` to every user when it checks zone admins and auditors. */
const PUBLIC_GROUP = "public";

/** True when the caller holds `ability` service-wide (today's rule, before zones are looked at). */
export function holdsPolicyAbility(actor: ZoneCallerActor, ability: PolicyAbility): boolean {
  return can(actor, ability);
}

/**
 * The zones `actor` administers and audits, Ranger's `ServiceMgr#isZoneAdmin`/`#isZoneAuditor`
 * for every zone at once: the zone lists the user (`adminUsers`), one of its groups
 * (`adminUserGroups`, with `public` always counted) or one of its roles (`adminRoles`); likewise
 * `audit*`. Groups are the user's effective groups (with the groups above its own) and roles
 * those held directly, through a group or a composite role, as decisions see them. Only directory
 * users (`type: "user"`) can be zone members; any other caller gets empty sets.
 */
export function zoneAuthorityOf(db: Queryable, actor: ZoneCallerActor): Promise<ZoneAuthority> {
  return rightsOfRequestActor.get(actor) ?? loadZoneAuthority(db, actor);
}

/**
 * The zone rights of the callers that `zoneAdmission` admitted, keyed by the request's own copy of
 * its actor (see there): the handler and the policy service then ask `zoneAuthorityOf` with that
 * same object and get the rights computed once for the request. Credentials are cached across
 * requests, so the cached actor itself is never a key: rights are read anew by every request.
 */
const rightsOfRequestActor = new WeakMap<object, Promise<ZoneAuthority>>();

async function loadZoneAuthority(db: Queryable, actor: ZoneCallerActor): Promise<ZoneAuthority> {
  const none: ZoneAuthority = { who: actor.name, admin: new Set(), audit: new Set() };
  if (actor.type !== "user" || !actor.id) return none;
  const principal = await new PrincipalCache(db).byId(actor.id);
  if (!principal) return none;
  const groups = new Set([...principal.groups, PUBLIC_GROUP]);
  const roles = new Set(principal.roles);
  const zones = await db
    .selectFrom("security_zones")
    .select([
      "name",
      "admin_users",
      "admin_user_groups",
      "admin_roles",
      "audit_users",
      "audit_user_groups",
      "audit_roles",
    ])
    .execute();
  const listed = (users: string[], zoneGroups: string[], zoneRoles: string[]) =>
    users.includes(principal.username) || zoneGroups.some((g) => groups.has(g)) || zoneRoles.some((r) => roles.has(r));
  const admin = new Set<string>();
  const audit = new Set<string>();
  for (const z of zones) {
    if (listed(z.admin_users, z.admin_user_groups, z.admin_roles)) admin.add(z.name);
    if (listed(z.audit_users, z.audit_user_groups, z.audit_roles)) audit.add(z.name);
  }
  return { who: principal.username, admin, audit };
}

/**
 * The zone authority a policy write by `actor` must be checked against, or null when the write
 * keeps today's rule: the caller holds `policy.write`, or is not a directory user (the server's
 * own work, and plugins' grants, which their own rule has authorized).
 */
export async function zoneWriteAuthority(db: Queryable, actor: ZoneCallerActor): Promise<ZoneAuthority | null> {
  if (actor.type !== "user" || holdsPolicyAbility(actor, "policy.write")) return null;
  return zoneAuthorityOf(db, actor);
}

/** The zones whose policies `authority` may read: those it administers or audits. */
export function readableZones(authority: ZoneAuthority): string[] {
  return [...new Set([...authority.admin, ...authority.audit])].sort();
}

/** How a zone is named in refusals: the default zone is "outside security zones". */
function zoneLabel(zone: string): string {
  return zone === "" ? "outside security zones" : `of security zone \`${zone}\``;
}

/**
 * The FORBIDDEN error for `authority` writing a policy of `zone` ("" = the default zone, which no
 * zone administrator holds), or null when it administers the zone. `what` names the policy, e.g.
 * `policy \`p1\``. Bulk writes report it per item; single writes throw it (`requireZoneAdmin`).
 */
export function zoneAdminRefusal(authority: ZoneAuthority, zone: string, what: string): AppError | null {
  if (zone !== "" && authority.admin.has(zone)) return null;
  return Forbidden(
    `not allowed to write ${what} ${zoneLabel(zone)}: \`${authority.who}\` lacks the ability \`policy.write\`${
      zone === "" ? "" : " and is not an administrator of the zone (adminUsers, adminUserGroups, adminRoles)"
    }`,
    { meta: { zone, rule: "zoneAdmin" } },
  );
}

/** Throws FORBIDDEN unless `authority` administers `zone` (see `zoneAdminRefusal`). */
export function requireZoneAdmin(authority: ZoneAuthority, zone: string, what: string): void {
  const refusal = zoneAdminRefusal(authority, zone, what);
  if (refusal) throw refusal;
}

/** True when `authority` administers or audits `zone` (never the default zone, `""`). */
export function seesZone(authority: ZoneAuthority, zone: string): boolean {
  return zone !== "" && (authority.admin.has(zone) || authority.audit.has(zone));
}

/** Throws FORBIDDEN unless `authority` administers or audits `zone`. */
export function requireZoneReader(authority: ZoneAuthority, zone: string, what: string): void {
  if (seesZone(authority, zone)) return;
  throw Forbidden(
    `not allowed to read ${what} ${zoneLabel(zone)}: \`${authority.who}\` lacks the ability \`policy.read\`${
      zone === "" ? "" : " and is neither an administrator nor an auditor of the zone"
    }`,
    { meta: { zone, rule: "zoneAuditor" } },
  );
}

/**
 * The zone authority a policy read by the request's caller is checked against, or null when the
 * caller holds `policy.read` (every policy of the service is readable).
 */
export async function zoneReadAuthority(db: Queryable, actor: ZoneCallerActor): Promise<ZoneAuthority | null> {
  if (holdsPolicyAbility(actor, "policy.read")) return null;
  return zoneAuthorityOf(db, actor);
}

/**
 * True when the caller, holding the zone rights `authority` (so lacking a policy ability), may not
 * even see a policy of `zone`, or the zone itself: it lacks `policy.read` and neither administers
 * nor audits the zone. Such a caller gets the answer a missing object gets, never a FORBIDDEN that
 * would tell it the object exists.
 */
export function zoneHiddenFrom(authority: ZoneAuthority, actor: ZoneCallerActor, zone: string): boolean {
  return !holdsPolicyAbility(actor, "policy.read") && !seesZone(authority, zone);
}

/**
 * A route's `delegatedAdmission` (see src/http/authentication.ts): lets a directory user without
 * the route's policy ability reach the handler when it administers (writes) or administers or
 * audits (reads) at least one zone. It only admits: the handler, and for writes the policy
 * service, then check the zone of each policy touched.
 *
 * The rights it computes serve the whole request: the request's actor becomes a copy of the
 * (possibly cached) actor, with its rights remembered against that copy, so the handler's and the
 * services' `zoneAuthorityOf(…, request.actor)` read no zone or membership again.
 */
export function zoneAdmission(db: Queryable, ability: PolicyAbility): (request: FastifyRequest) => Promise<boolean> {
  return async (request) => {
    if (request.actor.type !== "user") return false;
    const actor = { ...request.actor };
    const rights = loadZoneAuthority(db, actor);
    rightsOfRequestActor.set(actor, rights);
    request.actor = actor;
    const authority = await rights;
    return ability === "policy.write" ? authority.admin.size > 0 : readableZones(authority).length > 0;
  };
}

/**
 * Hides what lies in `zone` (one of its policies, or the zone itself) from a caller that may not
 * read it: throws `missing()`, the very error the route answers for an object that does not
 * exist, so the two answers are the same and a zone administrator or auditor cannot learn what
 * other zones hold. A caller holding the route's `ability` (or `policy.read`) sees every zone; on
 * a write route one that may read the object but not write it is then refused by the service
 * (403). `zone` may be a loader, run only for callers without the ability.
 */
export async function requireZoneVisible(
  db: Queryable,
  actor: ZoneCallerActor,
  ability: PolicyAbility,
  zone: string | (() => Promise<string>),
  missing: () => AppError,
): Promise<void> {
  const authority =
    ability === "policy.write" ? await zoneWriteAuthority(db, actor) : await zoneReadAuthority(db, actor);
  if (!authority) return;
  if (zoneHiddenFrom(authority, actor, typeof zone === "string" ? zone : await zone())) throw missing();
}

/**
 * The zones a search by `actor` is narrowed to: undefined for callers with `policy.read` (no
 * narrowing); otherwise the zones it administers or audits, or, when the search names a zone,
 * that zone alone (FORBIDDEN when it is not one of them, whether or not the zone exists: the
 * refusal tells nothing about what the zone holds).
 */
export async function searchableZones(
  db: Queryable,
  actor: ZoneCallerActor,
  zoneName: string | undefined,
): Promise<string[] | undefined> {
  const authority = await zoneReadAuthority(db, actor);
  if (!authority) return undefined;
  if (zoneName === undefined) return readableZones(authority);
  requireZoneReader(authority, zoneName, "policies");
  return [zoneName];
}
