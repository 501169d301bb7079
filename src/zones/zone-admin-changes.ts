import { type AppError, type ErrorDetail, Forbidden } from "../errors.ts";
import { canonicalJson } from "../tags/tags.service.ts";
import { type ZoneAuthority, type ZoneCallerActor, zoneHiddenFrom } from "./zone-admins.ts";
import type { ZoneInput } from "./zones.service.ts";
import type { ZoneView } from "./zones.store.ts";

/** One change a zone administrator may not make, with the field that carries it. */
interface RestrictedChange {
  field: string;
  /** What is changed, as a refusal names it: "the description", "service `trino`". */
  what: string;
}

function setDifference(a: Iterable<string>, b: Iterable<string>): string[] {
  const other = new Set(b);
  return [...new Set(a)].filter((x) => !other.has(x));
}

/**
 * The changes in `patch` (fields given replace the stored ones) that a zone administrator without
 * `policy.write` may not make, compared as Ranger's
 * `SecurityZoneREST#ensureUserAllowOperationOnServiceForZone` compares them: the name and the
 * description (refused to any non-administrator); a service or tag service added or removed, and
 * the resources of a service the zone keeps (Ranger lets only that service's admins, which
 * Gatehouse does not have). The admin and audit lists are free for the zone's own administrators.
 * Values equal to the stored ones are no change (lists and resources compared in order, services
 * and tag services as sets, as Ranger does).
 */
export function restrictedZoneChanges(before: ZoneView, patch: Partial<ZoneInput>): RestrictedChange[] {
  const out: RestrictedChange[] = [];
  if (patch.name !== undefined && patch.name !== before.name) out.push({ field: "body.name", what: "the name" });
  if (patch.description !== undefined && patch.description !== before.description) {
    out.push({ field: "body.description", what: "the description" });
  }
  if (patch.services !== undefined) {
    const was = Object.keys(before.services);
    const now = Object.keys(patch.services);
    for (const svc of [...setDifference(now, was), ...setDifference(was, now)]) {
      out.push({ field: `body.services.${svc}`, what: `whether service \`${svc}\` is in the zone` });
    }
    for (const svc of now.filter((s) => was.includes(s))) {
      const stored = before.services[svc]?.resources;
      if (canonicalJson(stored) !== canonicalJson(patch.services[svc]?.resources)) {
        out.push({ field: `body.services.${svc}.resources`, what: `the resources of service \`${svc}\`` });
      }
    }
  }
  if (patch.tagServices !== undefined) {
    const changed = [
      ...setDifference(patch.tagServices, before.tagServices),
      ...setDifference(before.tagServices, patch.tagServices),
    ];
    for (const svc of changed)
      out.push({ field: "body.tagServices", what: `whether tag service \`${svc}\` is in the zone` });
  }
  return out;
}

/**
 * Refuses a change to zone `before` by a caller without `policy.write` (whose zone rights are
 * `authority`) unless Ranger would let it through: the caller administers the zone and changes
 * only its admin and audit lists (`restrictedZoneChanges`). A caller that may not even read the
 * zone gets `missing()`, the answer for a zone that does not exist; one that audits it, a 403.
 */
export function requireZoneChangeAllowed(
  authority: ZoneAuthority,
  actor: ZoneCallerActor,
  before: ZoneView,
  patch: Partial<ZoneInput>,
  missing: () => AppError,
): void {
  const zone = before.name;
  if (!authority.admin.has(zone)) {
    if (zoneHiddenFrom(authority, actor, zone)) throw missing();
    throw Forbidden(
      `not allowed to change security zone \`${zone}\`: \`${authority.who}\` lacks the ability \`policy.write\` and is not an administrator of the zone (adminUsers, adminUserGroups, adminRoles)`,
      { meta: { zone, rule: "zoneAdmin" } },
    );
  }
  const changes = restrictedZoneChanges(before, patch);
  const [first] = changes;
  if (!first) return;
  const details: ErrorDetail[] = changes.map((c) => ({
    field: c.field,
    rule: "zoneAdmin",
    message: `${c.field}: a zone administrator may not change ${c.what}`,
  }));
  const more = changes.length > 1 ? ` (and ${changes.length - 1} more in details)` : "";
  throw Forbidden(
    `not allowed to change ${first.what} of security zone \`${zone}\`: \`${authority.who}\` lacks the ability \`policy.write\`, and a zone administrator changes only the zone's admin and audit lists${more}`,
    { details, meta: { zone, rule: "zoneAdmin" } },
  );
}
