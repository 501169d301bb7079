import { createEngine, type RangerServiceDef } from "../engine/index.ts";
import { prepareServiceDef } from "../engine/model/service-def.ts";
import type { ErrorDetail } from "../errors.ts";
import { TAG_SERVICE_DEF } from "../service-defs/builtin.ts";
import type { ZoneResource } from "./zones.store.ts";

/** A service a zone names, as the validator needs it. */
export interface ZoneServiceTarget {
  id: number;
  name: string;
  type: string;
  def: RangerServiceDef;
}

/** What a zone would claim, after the names resolved: the input of the checks below. */
export interface ZonePlan {
  /** Data services and the resources the zone claims in each. */
  services: { target: ZoneServiceTarget; resources: ZoneResource[] }[];
  /** Tag services of the zone. */
  tagServices: ZoneServiceTarget[];
}

function detail(field: string, rule: string, message: string): ErrorDetail {
  return { field, rule, message: `${field}: ${message}` };
}

/**
 * Checks the services of a zone the way Ranger's `RangerSecurityZoneValidator` does
 * (`validateWithinSecurityZone`, `validateSecurityZoneService`): every named service exists; data
 * services are listed under `services` with at least one resource, tag services under
 * `tagServices` (a tag service has no resources of its own); each resource names only resources of
 * the service-def, every value list is non-empty, and the names form one hierarchy of some policy
 * type from its top level down without a gap (`{schema}` alone, or `{catalog, table}`, is refused).
 * Unlike Ranger, zone admin and audit users are optional (without them, only `policy.write`
 * holders administer the zone's policies).
 */
export function zoneServiceIssues(
  services: Record<string, { resources: ZoneResource[] }>,
  tagServices: string[],
  found: Map<string, ZoneServiceTarget>,
): { issues: ErrorDetail[]; plan: ZonePlan } {
  const issues: ErrorDetail[] = [];
  const plan: ZonePlan = { services: [], tagServices: [] };
  if (Object.keys(services).length + tagServices.length === 0) {
    issues.push(detail("body.services", "minProperties", "a zone must include at least one service or tag service"));
  }
  for (const [name, spec] of Object.entries(services)) {
    const field = `body.services.${name}`;
    const target = found.get(name);
    if (!target) {
      issues.push(detail(field, "serviceKnown", `service \`${name}\` does not exist`));
      continue;
    }
    if (target.type === TAG_SERVICE_DEF) {
      issues.push(detail(field, "notTagService", `\`${name}\` is a tag service; list it in body.tagServices`));
      continue;
    }
    if (spec.resources.length === 0) {
      issues.push(detail(`${field}.resources`, "minItems", "must list at least one resource the zone claims"));
      continue;
    }
    const before = issues.length;
    spec.resources.forEach((resource, i) => {
      issues.push(...resourceIssues(resource, target.def, `${field}.resources[${i}]`));
    });
    if (issues.length === before) plan.services.push({ target, resources: spec.resources });
  }
  const seen = new Set<string>();
  tagServices.forEach((name, i) => {
    const field = `body.tagServices[${i}]`;
    const target = found.get(name);
    if (seen.has(name)) issues.push(detail(field, "uniqueItems", `\`${name}\` is listed twice`));
    else if (!target) issues.push(detail(field, "serviceKnown", `service \`${name}\` does not exist`));
    else if (target.type !== TAG_SERVICE_DEF)
      issues.push(detail(field, "tagService", `\`${name}\` is not a tag service; list it in body.services`));
    else plan.tagServices.push(target);
    seen.add(name);
  });
  return { issues, plan };
}

/** One zone resource against the service-def (Ranger's hierarchy rule, `isHierarchyValidForResources`). */
function resourceIssues(resource: ZoneResource, def: RangerServiceDef, field: string): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const keys = Object.keys(resource);
  if (keys.length === 0) return [detail(field, "minProperties", "must name at least one resource")];
  const prepared = prepareServiceDef(def);
  const known = new Set(prepared.resourcesByType.flatMap((m) => [...m.keys()]));
  for (const k of keys) {
    const values = resource[k] ?? [];
    if (!known.has(k)) {
      out.push(
        detail(
          `${field}.${k}`,
          "resourceKnown",
          `\`${k}\` is not a resource of \`${def.name}\`; known: ${[...known].join(", ")}`,
        ),
      );
    } else if (values.length === 0) out.push(detail(`${field}.${k}`, "minItems", "must list at least one value"));
    else if (values.some((v) => v.trim() === ""))
      out.push(detail(`${field}.${k}`, "nonEmpty", "values must not be empty strings"));
    else if (new Set(values).size !== values.length)
      out.push(detail(`${field}.${k}`, "uniqueItems", "values must be unique"));
  }
  if (out.length > 0) return out;
  const fits = prepared.hierarchiesByType.some((hierarchies) =>
    hierarchies.some((h) => {
      if (!keys.every((k) => h.some((d) => d.name === k))) return false;
      // No gap: once a level is absent, no level below it may be present.
      let skipped = false;
      for (const d of h) {
        if (resource[d.name] === undefined) skipped = true;
        else if (skipped) return false;
      }
      return true;
    }),
  );
  if (!fits) {
    const valid = prepared.hierarchiesByType[0]?.map((h) => h.map((d) => d.name).join("/")) ?? [];
    out.push(
      detail(
        field,
        "hierarchy",
        `${keys.map((k) => `\`${k}\``).join(", ")} is not a top-down part of one resource hierarchy of \`${def.name}\` (${valid.join(", ")})`,
      ),
    );
  }
  return out;
}

/** Beyond this many value combinations a resource is matched with its value lists as they are. */
const MAX_COMBINATIONS = 1_000;

/** The single-valued resources a zone resource stands for (`{a: [x, y]}` → `{a: x}`, `{a: y}`). */
function combinations(resource: ZoneResource): Record<string, string | string[]>[] {
  let out: Record<string, string>[] = [{}];
  for (const [k, values] of Object.entries(resource)) {
    if (out.length * values.length > MAX_COMBINATIONS) return [resource];
    out = out.flatMap((partial) => values.map((v) => ({ ...partial, [k]: v })));
  }
  return out;
}

/** The names of the zones (of `zones`) whose resources match an access resource, by the engine's zone routing. */
function zoneMatcher(
  def: RangerServiceDef,
  zones: Record<string, { zoneName: string; resources: ZoneResource[] }>,
): (elements: Record<string, string | string[]>) => string[] {
  const engine = createEngine({ serviceDef: def, policies: [], securityZones: zones });
  return (elements) => engine.zoneNamesFor(engine.preProcess({ resource: { elements }, accessType: "" }));
}

/** A conflict between the zone being written and another zone claiming resources of the same service. */
export interface ZoneOverlap {
  service: string;
  /** Index of the written zone's resource (in its list for the service) that overlaps. */
  index: number;
  otherZone: string;
  /** The resource (of either zone) that matched both zones. */
  resource: ZoneResource;
}

/**
 * Ranger's overlap rule (`RangerSecurityZoneValidator#validateZoneServiceInAllZones`): every
 * resource any zone claims in the service is taken as an access resource (its values as
 * literal strings) and matched, in Ranger's `MatchScope.ANY` (the resource itself, anything
 * above it or anything below it), against the resources of every zone; when it matches resources
 * of two different zones, the zones conflict. So `{catalog: [sales]}` conflicts with
 * `{catalog: [sales], schema: [eu]}` (one contains the other) and with `{catalog: [s*]}` (the
 * pattern matches `sales`), but `{schema: [eu*]}` and `{schema: [*u]}` do not conflict: neither
 * value, read literally, matches the other pattern, although both would match `eu`. Matching is
 * the engine's own zone routing, so a zone accepted here routes requests exactly as checked.
 */
export function findOverlap(
  zoneName: string,
  target: ZoneServiceTarget,
  resources: ZoneResource[],
  others: { zoneName: string; resources: ZoneResource[] }[],
): ZoneOverlap | null {
  if (others.length === 0) return null;
  const zones: Record<string, { zoneName: string; resources: ZoneResource[] }> = {};
  for (const o of others) {
    const z = zones[o.zoneName] ?? { zoneName: o.zoneName, resources: [] };
    z.resources.push(...o.resources);
    zones[o.zoneName] = z;
  }
  // Two engines, so each direction costs (resources of one side) × (zones matched against):
  // the other zones, matched against the written zone's resources; the written zone alone,
  // matched against the other zones' resources.
  const theirs = zoneMatcher(target.def, zones);
  const mine = (list: ZoneResource[]) => zoneMatcher(target.def, { [zoneName]: { zoneName, resources: list } });
  const ours = mine(resources);
  for (const [index, resource] of resources.entries()) {
    for (const elements of combinations(resource)) {
      const other = theirs(elements)[0];
      if (other !== undefined) return { service: target.name, index, otherZone: other, resource };
    }
  }
  for (const o of others) {
    for (const resource of o.resources) {
      for (const elements of combinations(resource)) {
        if (ours(elements).length === 0) continue;
        const index = resources.findIndex((r) => mine([r])(elements).length > 0);
        return { service: target.name, index: Math.max(index, 0), otherZone: o.zoneName, resource };
      }
    }
  }
  return null;
}
