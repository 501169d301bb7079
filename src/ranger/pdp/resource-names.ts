import type { RangerResourceDef, RangerServiceDef } from "../../engine/index.ts";
import { authzError } from "./pdp-errors.ts";

/**
 * Ranger's resource names (RRN, `RangerResourceNameParser`): `<type>:<value>`, the value split on
 * the service-def's separator (`rrnResourceSepChar` option, `/` by default) into the hierarchy
 * that ends at `type` (`table:sales/eu/orders` in trino is catalog/schema/table). A backslash
 * escapes the separator; the last level takes the rest as it is (`path:/a/b/c`).
 */
export interface ResourceTemplate {
  /** The hierarchy, root first (`["catalog", "schema", "table"]`). */
  readonly levels: readonly string[];
  readonly separator: string;
  /** `catalog/schema/table`, as Ranger's error messages show it. */
  readonly text: string;
}

const templates = new WeakMap<RangerServiceDef, Map<string, ResourceTemplate>>();

/** The template of every resource type of a service-def, computed once per def object. */
export function templatesOf(def: RangerServiceDef): Map<string, ResourceTemplate> {
  let out = templates.get(def);
  if (!out) {
    out = new Map();
    const separator = String(def.options?.rrnResourceSepChar ?? "").charAt(0) || "/";
    const byName = new Map<string, RangerResourceDef>();
    for (const r of def.resources ?? []) byName.set(r.name, r);
    for (const r of def.resources ?? []) {
      const levels: string[] = [];
      // Ranger walks `parent` links among the access-policy resources (createRrnParser)
      let at: RangerResourceDef | undefined = r;
      while (at && levels.length <= byName.size) {
        levels.unshift(at.name);
        at = at.parent ? byName.get(at.parent) : undefined;
      }
      out.set(r.name, { levels, separator, text: levels.join(separator) });
    }
    templates.set(def, out);
  }
  return out;
}

/** Parses `type:value` into resource elements by the def's templates; Ranger's 400s otherwise. */
export function parseResourceName(def: RangerServiceDef, name: string): Record<string, string> {
  const colon = name.indexOf(":");
  const type = colon < 0 ? name : name.slice(0, colon);
  const value = colon < 0 ? null : name.slice(colon + 1);
  const template = templatesOf(def).get(type);
  if (!template) throw authzError("RESOURCE_TYPE_NOT_FOUND", type);
  if (value === null || value.trim() === "") throw authzError("RESOURCE_EMPTY_VALUE");
  const { levels, separator } = template;
  const out: Record<string, string> = {};
  if (value.includes("\\")) {
    const values = parseValue(template, value);
    for (let i = 0; i < values.length; i++) out[levels[i] as string] = values[i] as string;
    return out;
  }
  // No escapes (nearly every name): cut at the first `levels - 1` separators, the rest is the last
  // level, exactly as `parseValue` reads such a value (resource-names.test.ts checks both agree).
  let from = 0;
  const last = levels.length - 1;
  for (let i = 0; i < last; i++) {
    const at = value.indexOf(separator, from);
    if (at < 0) throw authzError("RESOURCE_VALUE", value, template.text);
    out[levels[i] as string] = value.slice(from, at);
    from = at + 1;
  }
  out[levels[last] as string] = value.slice(from);
  return out;
}

/**
 * `RangerResourceNameParser.parseToArray`: escapes honoured, the last level unsplit. Exported for
 * the test that holds the fast path of `parseResourceName` to it.
 */
export function parseValue(template: ResourceTemplate, value: string): string[] {
  const { levels, separator } = template;
  const out: string[] = [];
  let token = "";
  let isLast = levels.length === 1;
  let escaping = false;
  for (const c of value) {
    if (c === "\\" && !escaping) {
      escaping = true;
      continue;
    }
    if (c === separator && !escaping && !isLast) {
      out.push(token);
      token = "";
      isLast = out.length === levels.length - 1;
      continue;
    }
    token += c;
    escaping = false;
  }
  out.push(token);
  if (!isLast) throw authzError("RESOURCE_VALUE", value, template.text);
  return out;
}

/**
 * A sub-resource (`column:id`) laid over its parent's elements, as Ranger's `getSubResource`
 * does: the text before the first `:` names the element, the rest is its value.
 */
export function withSubResource(
  def: RangerServiceDef,
  parent: Record<string, string>,
  subResource: string,
): Record<string, string> {
  const out = { ...parent };
  if (subResource.trim() === "") return out;
  const colon = subResource.indexOf(":");
  const type = colon < 0 ? subResource : subResource.slice(0, colon);
  if (!templatesOf(def).has(type)) throw authzError("RESOURCE_TYPE_NOT_FOUND", type);
  out[type] = colon < 0 ? "" : subResource.slice(colon + 1);
  return out;
}
