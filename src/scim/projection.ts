import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from "./schemas.ts";

/** What `attributes` and `excludedAttributes` ask for (RFC 7644 §3.4.2.5), parsed once per request. */
export interface Projection {
  /** Lowercase attribute paths to return (with `id`, `schemas`, `meta`); null = the defaults. */
  only: string[] | null;
  /** Lowercase attribute paths to leave out. */
  excluded: string[];
}

const ALWAYS = new Set(["id", "schemas", "meta"]);

function paths(list: string | undefined): string[] {
  if (!list) return [];
  return list
    .split(",")
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== "")
    .map((p) => {
      for (const core of [CORE_USER, CORE_GROUP]) {
        const prefix = `${core.toLowerCase()}:`;
        if (p.startsWith(prefix)) return p.slice(prefix.length);
      }
      return p;
    });
}

/** Parses `attributes` and `excludedAttributes` (comma-separated, case-insensitive, URN-prefixed or not). */
export function projectionOf(attributes: string | undefined, excludedAttributes: string | undefined): Projection {
  const only = paths(attributes);
  return { only: only.length > 0 ? only : null, excluded: paths(excludedAttributes) };
}

/** True when the projection returns top-level attribute `name` (so its data must be loaded). */
export function wants(projection: Projection, name: string): boolean {
  const lower = name.toLowerCase();
  if (projection.excluded.includes(lower)) return false;
  return projection.only === null || projection.only.some((p) => p === lower || p.startsWith(`${lower}.`));
}

const ENTERPRISE = ENTERPRISE_USER.toLowerCase();

/** Splits `urn:...:enterprise:2.0:user:department` into the extension key and `department`. */
function split(path: string): [string, string | null] {
  if (path.startsWith(`${ENTERPRISE}:`)) return [ENTERPRISE, path.slice(ENTERPRISE.length + 1) || null];
  const dot = path.indexOf(".");
  return dot < 0 ? [path, null] : [path.slice(0, dot), path.slice(dot + 1)];
}

function pick(value: unknown, sub: string): unknown {
  if (Array.isArray(value)) return value.map((v) => pick(v, sub)).filter((v) => v !== undefined);
  if (typeof value !== "object" || value === null) return undefined;
  const entry = Object.entries(value).find(([k]) => k.toLowerCase() === sub);
  return entry === undefined ? undefined : { [entry[0]]: entry[1] };
}

function merge(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return a.map((v, i) => ({ ...(v as object), ...(b[i] as object) }));
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) return { ...a, ...b };
  return b;
}

/** Applies a projection to one resource (a new object; `id`, `schemas` and `meta` always stay). */
export function project(resource: Record<string, unknown>, projection: Projection): Record<string, unknown> {
  const keys = Object.keys(resource);
  const keyOf = (lower: string) => keys.find((k) => k.toLowerCase() === lower);
  let out: Record<string, unknown>;
  if (projection.only === null) {
    out = { ...resource };
  } else {
    out = {};
    for (const k of keys) if (ALWAYS.has(k)) out[k] = resource[k];
    for (const path of projection.only) {
      const [top, sub] = split(path);
      const key = keyOf(top);
      if (key === undefined) continue;
      const value = sub === null ? resource[key] : pick(resource[key], sub);
      if (value !== undefined) out[key] = key in out && sub !== null ? merge(out[key], value) : value;
    }
  }
  for (const path of projection.excluded) {
    const [top, sub] = split(path);
    const key = keyOf(top);
    if (key === undefined || ALWAYS.has(key)) continue;
    if (sub === null) {
      delete out[key];
      continue;
    }
    const strip = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(strip);
      if (typeof v !== "object" || v === null) return v;
      return Object.fromEntries(Object.entries(v).filter(([k]) => k.toLowerCase() !== sub));
    };
    if (key in out) out[key] = strip(out[key]);
  }
  return out;
}
