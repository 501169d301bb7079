import { computeHierarchies } from "../engine/model/service-def.ts";
import type { RangerServiceDef } from "../engine/types.ts";
import type { ErrorDetail } from "../errors.ts";

const NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/**
 * Validates a custom service-def before it is stored: unique resource, access and mask type
 * names, parents that exist and form no cycle, implied grants and mask/row-filter entries that
 * name base definitions. Policies are validated against defs, so a broken def would make every
 * policy of its services unwritable.
 */
export function validateServiceDef(def: RangerServiceDef): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const add = (field: string, rule: string, message: string) =>
    out.push({ field, rule, message: `${field}: ${message}` });
  if (!NAME.test(def.name ?? ""))
    add("body.name", "pattern", "must be lowercase letters, digits, `_`, `.` or `-`, starting with a letter");
  const resources = def.resources ?? [];
  if (resources.length === 0) add("body.resources", "minItems", "must define at least one resource");
  const names = new Set<string>();
  resources.forEach((r, i) => {
    if (!r.name) add(`body.resources[${i}].name`, "required", "is required");
    if (names.has(r.name)) add(`body.resources[${i}].name`, "unique", `\`${r.name}\` is defined twice`);
    names.add(r.name);
  });
  resources.forEach((r, i) => {
    if (r.parent && !names.has(r.parent))
      add(`body.resources[${i}].parent`, "parentKnown", `\`${r.parent}\` is not a resource`);
    if (r.validationRegEx) {
      try {
        new RegExp(r.validationRegEx);
      } catch {
        add(`body.resources[${i}].validationRegEx`, "regex", "is not a valid regular expression");
      }
    }
  });
  // A cycle leaves its members out of every root→leaf chain.
  const inChains = new Set(computeHierarchies(resources).flatMap((h) => h.map((d) => d.name)));
  for (const r of resources)
    if (!inChains.has(r.name)) add("body.resources", "acyclic", `\`${r.name}\` is part of a parent cycle`);

  const accessTypes = def.accessTypes ?? [];
  if (accessTypes.length === 0) add("body.accessTypes", "minItems", "must define at least one access type");
  const accessNames = new Set<string>();
  accessTypes.forEach((a, i) => {
    if (!a.name) add(`body.accessTypes[${i}].name`, "required", "is required");
    if (accessNames.has(a.name)) add(`body.accessTypes[${i}].name`, "unique", `\`${a.name}\` is defined twice`);
    accessNames.add(a.name);
  });
  accessTypes.forEach((a, i) => {
    for (const g of a.impliedGrants ?? []) {
      if (!accessNames.has(g))
        add(`body.accessTypes[${i}].impliedGrants`, "accessTypeKnown", `\`${g}\` is not an access type`);
    }
  });
  for (const [key, sub] of [
    ["dataMaskDef", def.dataMaskDef],
    ["rowFilterDef", def.rowFilterDef],
  ] as const) {
    if (!sub) continue;
    (sub.resources ?? []).forEach((r, i) => {
      if (!names.has(r.name))
        add(`body.${key}.resources[${i}].name`, "resourceKnown", `\`${r.name}\` is not a base resource`);
    });
    (sub.accessTypes ?? []).forEach((a, i) => {
      if (!accessNames.has(a.name))
        add(`body.${key}.accessTypes[${i}].name`, "accessTypeKnown", `\`${a.name}\` is not a base access type`);
    });
  }
  const maskNames = new Set<string>();
  (def.dataMaskDef?.maskTypes ?? []).forEach((m, i) => {
    if (!m.name) add(`body.dataMaskDef.maskTypes[${i}].name`, "required", "is required");
    if (maskNames.has(m.name)) add(`body.dataMaskDef.maskTypes[${i}].name`, "unique", `\`${m.name}\` is defined twice`);
    maskNames.add(m.name);
  });
  return out;
}
