import type { RangerAccessTypeDef, RangerResourceDef, RangerServiceDef } from "../types.ts";

/**
 * A service-def prepared for evaluation: resource defs per policy type (mask/row-filter defs merged
 * over the base defs as Ranger's `normalize` does), hierarchies, and access types with implied
 * grants expanded one level (markers included), so evaluation never re-derives them.
 */
export interface PreparedServiceDef {
  readonly raw: RangerServiceDef;
  readonly name: string;
  /** resource defs by policy type (0, 1, 2) and name */
  readonly resourcesByType: readonly Map<string, RangerResourceDef>[];
  /** hierarchies (root→leaf resource defs) by policy type */
  readonly hierarchiesByType: readonly RangerResourceDef[][][];
  /** non-marker access type names, in service-def order (what `_any` expands to) */
  readonly accessTypeNames: readonly string[];
  /** lower-cased access name → lower-cased names it grants (itself + implied, one level) */
  readonly impliedGrants: ReadonlyMap<string, readonly string[]>;
  /** resource name → position in service-def order, used to order keys canonically */
  readonly resourceOrder: ReadonlyMap<string, number>;
  /** `enableDenyAndExceptionsInPolicies` option (default true) */
  readonly denyAndExceptionsEnabled: boolean;
}

const MARKER_CATEGORIES: Record<string, string> = {
  _CREATE: "CREATE",
  _READ: "READ",
  _UPDATE: "UPDATE",
  _DELETE: "DELETE",
  _MANAGE: "MANAGE",
};

/** Computes Ranger's marker access types (`ServiceDefUtil.getMarkerAccessTypes`) when the def lacks them. */
export function computeMarkerAccessTypes(accessTypes: readonly RangerAccessTypeDef[]): RangerAccessTypeDef[] {
  const byCategory = new Map<string, Set<string>>();
  const all = new Set<string>();
  for (const at of accessTypes) {
    all.add(at.name);
    if (!at.category) continue;
    let set = byCategory.get(at.category);
    if (!set) {
      set = new Set();
      byCategory.set(at.category, set);
    }
    set.add(at.name);
    for (const g of at.impliedGrants ?? []) set.add(g);
  }
  const markers: RangerAccessTypeDef[] = [];
  for (const [marker, category] of Object.entries(MARKER_CATEGORIES)) {
    const grants = byCategory.get(category);
    if (grants && grants.size > 0) markers.push({ name: marker, label: marker, impliedGrants: [...grants] });
  }
  if (all.size > 0) markers.push({ name: "_ALL", label: "_ALL", impliedGrants: [...all] });
  return markers;
}

function mergeResourceDef(base: RangerResourceDef | undefined, delta: RangerResourceDef): RangerResourceDef {
  if (!base) return delta;
  const merged: RangerResourceDef = { ...base };
  if (delta.matcherOptions) merged.matcherOptions = { ...(base.matcherOptions ?? {}), ...delta.matcherOptions };
  if (delta.mandatory) merged.mandatory = true;
  if (delta.isValidLeaf !== undefined && delta.isValidLeaf !== null) merged.isValidLeaf = delta.isValidLeaf;
  if (delta.parent !== undefined) merged.parent = delta.parent;
  if (delta.level !== undefined) merged.level = delta.level;
  if (delta.excludesSupported !== undefined) merged.excludesSupported = delta.excludesSupported;
  if (delta.recursiveSupported !== undefined) merged.recursiveSupported = delta.recursiveSupported;
  if (delta.matcher) merged.matcher = delta.matcher;
  return merged;
}

/** Builds the root→leaf chains from `parent` links (Ranger's `RangerServiceDefHelper` hierarchies). */
export function computeHierarchies(defs: readonly RangerResourceDef[]): RangerResourceDef[][] {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const children = new Map<string, RangerResourceDef[]>();
  const roots: RangerResourceDef[] = [];
  for (const d of defs) {
    const parent = d.parent && byName.has(d.parent) ? d.parent : "";
    if (!parent) roots.push(d);
    else {
      let list = children.get(parent);
      if (!list) {
        list = [];
        children.set(parent, list);
      }
      list.push(d);
    }
  }
  const out: RangerResourceDef[][] = [];
  const walk = (node: RangerResourceDef, path: RangerResourceDef[]) => {
    const next = [...path, node];
    const kids = children.get(node.name);
    if (!kids || kids.length === 0) out.push(next);
    else for (const k of kids) walk(k, next);
  };
  for (const r of roots) walk(r, []);
  return out;
}

function optionFlag(options: Record<string, string> | undefined, name: string, dflt: boolean): boolean {
  const v = options?.[name];
  if (v === undefined || v === null || v === "") return dflt;
  return String(v).toLowerCase() === "true";
}

/** Prepares a service-def for evaluation. `componentPrefix` strips `hive:` style tag access types. */
export function prepareServiceDef(raw: RangerServiceDef, componentPrefix?: string): PreparedServiceDef {
  const base = raw.resources ?? [];
  const baseByName = new Map(base.map((d) => [d.name, d]));
  const maskDefs = (raw.dataMaskDef?.resources ?? []).map((d) => mergeResourceDef(baseByName.get(d.name), d));
  const rowDefs = (raw.rowFilterDef?.resources ?? []).map((d) => mergeResourceDef(baseByName.get(d.name), d));
  const typeDefs = [base, maskDefs, rowDefs];

  let accessTypes = raw.accessTypes ?? [];
  if (componentPrefix) accessTypes = stripComponentPrefix(accessTypes, componentPrefix);
  const markers =
    raw.markerAccessTypes && raw.markerAccessTypes.length > 0
      ? raw.markerAccessTypes
      : computeMarkerAccessTypes(accessTypes);

  const impliedGrants = new Map<string, string[]>();
  for (const at of [...accessTypes, ...markers]) {
    const name = at.name.toLowerCase();
    const set = new Set<string>([name]);
    for (const g of at.impliedGrants ?? []) set.add(g.toLowerCase());
    impliedGrants.set(name, [...set]);
  }
  const resourceOrder = new Map<string, number>();
  let i = 0;
  for (const defs of typeDefs) for (const d of defs) if (!resourceOrder.has(d.name)) resourceOrder.set(d.name, i++);

  return {
    raw,
    name: raw.name,
    resourcesByType: typeDefs.map((defs) => new Map(defs.map((d) => [d.name, d]))),
    hierarchiesByType: typeDefs.map((defs) => computeHierarchies(defs)),
    accessTypeNames: accessTypes.map((a) => a.name),
    impliedGrants,
    resourceOrder,
    denyAndExceptionsEnabled: optionFlag(raw.options, "enableDenyAndExceptionsInPolicies", true),
  };
}

/**
 * Tag service-defs name access types `<component>:<access>`; for a component's engine only that
 * component's types are kept, with the prefix removed (Ranger's `normalizeAccessTypeDefList`).
 */
export function stripComponentPrefix(types: readonly RangerAccessTypeDef[], component: string): RangerAccessTypeDef[] {
  const prefix = `${component}:`;
  const out: RangerAccessTypeDef[] = [];
  for (const at of types) {
    if (!at.name.includes(":")) {
      out.push(at);
      continue;
    }
    if (!at.name.startsWith(prefix)) continue;
    out.push({
      ...at,
      name: at.name.slice(prefix.length),
      impliedGrants: (at.impliedGrants ?? [])
        .filter((g) => !g.includes(":") || g.startsWith(prefix))
        .map((g) => (g.startsWith(prefix) ? g.slice(prefix.length) : g)),
    });
  }
  return out;
}
