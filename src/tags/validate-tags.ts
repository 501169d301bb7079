import type { RangerPolicy, RangerPolicyResources, RangerServiceDef, RangerValiditySchedule } from "../engine/index.ts";
import type { ErrorDetail } from "../errors.ts";
import { normalizeResources } from "../policies/policy-model.ts";
import { validatePolicy } from "../policies/validate.ts";

const PROBE = "__probe";

/** Re-roots the details of a probe policy's `fromKey` under `field`, message included. */
function reroot(details: ErrorDetail[], fromKey: string, field: string): ErrorDetail[] {
  const from = `${PROBE}.${fromKey}`;
  return details
    .filter((d) => d.field.startsWith(from))
    .map((d) => ({
      field: field + d.field.slice(from.length),
      rule: d.rule,
      message: field + d.message.slice(from.length),
    }));
}

/**
 * Checks a service resource's elements against the service-def exactly as a policy's resources
 * are checked (known keys, one hierarchy with its mandatory levels down to a valid leaf,
 * excludes/recursive support, non-empty unique values matching `validationRegEx`), so a tagged
 * resource is always one a policy could name. Each detail names its field under `field`.
 */
export function resourceElementIssues(
  elements: RangerPolicyResources,
  def: RangerServiceDef,
  field: string,
): ErrorDetail[] {
  const probe: RangerPolicy = {
    name: "tagged-resource",
    resources: normalizeResources(elements),
    isAuditEnabled: true,
  };
  return reroot(validatePolicy(probe, def, PROBE), "resources", field);
}

/** Checks a tag's validity periods with the policy validity-schedule rules; details under `field`. */
export function validityPeriodIssues(
  periods: RangerValiditySchedule[],
  def: RangerServiceDef,
  field: string,
): ErrorDetail[] {
  if (periods.length === 0) return [];
  const probe: RangerPolicy = { name: "tag", resources: {}, validitySchedules: periods, isAuditEnabled: true };
  return reroot(validatePolicy(probe, def, PROBE), "validitySchedules", field);
}

/** A tag type's attribute definitions, as the checks below need them. */
export interface TagTypeInfo {
  name: string;
  attributeDefs: { name: string; type?: string }[];
}

/** Checks that every attribute of a tag is defined by its type; details under `field`. */
export function attributeIssues(attributes: Record<string, string>, type: TagTypeInfo, field: string): ErrorDetail[] {
  const defined = new Set(type.attributeDefs.map((a) => a.name));
  const out: ErrorDetail[] = [];
  for (const name of Object.keys(attributes)) {
    if (defined.has(name)) continue;
    const known = [...defined].map((n) => `\`${n}\``).join(", ") || "none";
    const message = `${field}.${name}: \`${name}\` is not an attribute of tag type \`${type.name}\`; defined: ${known}`;
    out.push({ field: `${field}.${name}`, rule: "attributeDefined", message });
  }
  return out;
}

/** Name rule of tag types (Atlas classification names and a little more). */
export const TAG_TYPE_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.:\\- ]{0,254}$";
