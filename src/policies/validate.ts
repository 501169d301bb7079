import { validateExpression } from "../engine/expression/index.ts";
import { validateTemplate } from "../engine/expression/template.ts";
import { prepareServiceDef } from "../engine/model/service-def.ts";
import { validateSchedules } from "../engine/schedule/index.ts";
import type { RangerPolicy, RangerPolicyItem, RangerResourceDef, RangerServiceDef } from "../engine/types.ts";
import type { ErrorDetail } from "../errors.ts";
import { hasInvisibleCharacter, INVISIBLE_PROBLEM } from "../http/names.ts";
import { MAX_INDEXED_NAME } from "./policies.schemas.ts";
import { ITEM_LISTS, type ItemListName } from "./policy-model.ts";

const TYPE_NAMES = ["access", "masking", "row-filter"] as const;
/** Item lists each policy type may carry (Ranger: masks and row filters have their own lists). */
const LISTS_BY_TYPE: Record<number, readonly ItemListName[]> = {
  0: ["policyItems", "denyPolicyItems", "allowExceptions", "denyExceptions"],
  1: ["dataMaskPolicyItems"],
  2: ["rowFilterPolicyItems"],
};
const MAX_NAME = 255;

/** Collects failures; every one names the field and the rule, as the error catalogue asks. */
class Failures {
  readonly list: ErrorDetail[] = [];
  add(field: string, rule: string, message: string): void {
    this.list.push({ field, rule, message: `${field}: ${message}` });
  }
}

/**
 * Runs an engine expression validator. The engine's expression language is built in parallel
 * with this module; until it is implemented its validators throw "not implemented", and text is
 * then accepted here and checked by the engine when the policy loads.
 */
function expressionIssues(check: () => { errors: { message: string }[] }): string[] {
  try {
    return check().errors.map((e) => e.message);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("not implemented")) return [];
    return [err instanceof Error ? err.message : String(err)];
  }
}

const preparedDefs = new WeakMap<RangerServiceDef, ReturnType<typeof prepareServiceDef>>();

/** The resource defs and hierarchies of one policy type, with Ranger's mask/row-filter merge. */
function typeDefs(def: RangerServiceDef, policyType: number) {
  let prepared = preparedDefs.get(def);
  if (!prepared) {
    prepared = prepareServiceDef(def);
    preparedDefs.set(def, prepared);
  }
  return {
    prepared,
    byName: prepared.resourcesByType[policyType] ?? new Map<string, RangerResourceDef>(),
    hierarchies: prepared.hierarchiesByType[policyType] ?? [],
  };
}

/**
 * Checks resource keys against the hierarchies of the policy type (Ranger 3011/3012/3024/3025):
 * the keys must sit in one hierarchy, include every mandatory level above the deepest key, and
 * stop at a valid leaf. Masks must reach the last level (a column), row filters their last level.
 */
function checkHierarchy(
  f: Failures,
  field: string,
  keys: string[],
  hierarchies: RangerResourceDef[][],
  policyType: number,
): void {
  if (keys.length === 0) return;
  const candidates = hierarchies.filter((h) => keys.every((k) => h.some((d) => d.name === k)));
  if (candidates.length === 0) {
    f.add(
      field,
      "hierarchy",
      `keys ${keys.map((k) => `\`${k}\``).join(", ")} do not belong to one resource hierarchy; valid hierarchies: ${hierarchies.map((h) => h.map((d) => d.name).join("/")).join(", ")}`,
    );
    return;
  }
  const problems: string[] = [];
  for (const h of candidates) {
    const deepest = Math.max(...keys.map((k) => h.findIndex((d) => d.name === k)));
    const missing = h.slice(0, deepest).filter((d) => d.mandatory !== false && !keys.includes(d.name));
    if (missing.length > 0) {
      problems.push(`\`${missing.map((d) => d.name).join("`, `")}\` is required above \`${h[deepest]?.name}\``);
      continue;
    }
    const leaf = h[deepest] as RangerResourceDef;
    const isLast = deepest === h.length - 1;
    if (policyType !== 0 && !isLast) {
      problems.push(
        `a ${TYPE_NAMES[policyType]} policy must name \`${h[h.length - 1]?.name}\` (the last level of ${h.map((d) => d.name).join("/")})`,
      );
      continue;
    }
    if (!isLast && leaf.isValidLeaf !== true) {
      problems.push(`\`${leaf.name}\` cannot be the last level; add \`${h[deepest + 1]?.name}\``);
      continue;
    }
    return;
  }
  f.add(field, "hierarchy", problems[0] ?? "the resource keys do not fit a hierarchy");
}

function checkResources(
  f: Failures,
  field: string,
  resources: RangerPolicy["resources"],
  byName: Map<string, RangerResourceDef>,
  hierarchies: RangerResourceDef[][],
  policyType: number,
): void {
  const entries = Object.entries(resources ?? {});
  if (entries.length === 0) {
    f.add(field, "minProperties", "must name at least one resource");
    return;
  }
  const known: string[] = [];
  for (const [name, resource] of entries) {
    const at = `${field}.${name}`;
    const rdef = byName.get(name);
    if (!rdef) {
      f.add(
        at,
        "resourceKnown",
        `\`${name}\` is not a resource of ${TYPE_NAMES[policyType] ?? "access"} policies in this service; known: ${[...byName.keys()].join(", ") || "none"}`,
      );
      continue;
    }
    known.push(name);
    const values = resource.values ?? [];
    if (values.length === 0) f.add(`${at}.values`, "minItems", "must list at least one value");
    if (values.some((v) => v.trim() === "")) f.add(`${at}.values`, "nonEmpty", "values must not be empty strings");
    if (new Set(values).size !== values.length) f.add(`${at}.values`, "uniqueItems", "values must be unique");
    if (rdef.validationRegEx) {
      const re = new RegExp(rdef.validationRegEx);
      for (const v of values) {
        if (!re.test(v)) f.add(`${at}.values`, "pattern", `\`${v}\` does not match ${rdef.validationRegEx}`);
      }
    }
    if (resource.isExcludes && rdef.excludesSupported !== true) {
      f.add(`${at}.isExcludes`, "excludesSupported", `\`${name}\` does not support excludes`);
    }
    if (resource.isRecursive && rdef.recursiveSupported !== true) {
      f.add(`${at}.isRecursive`, "recursiveSupported", `\`${name}\` does not support recursive`);
    }
  }
  if (known.length === entries.length) checkHierarchy(f, field, known, hierarchies, policyType);
}

function checkConditions(
  f: Failures,
  field: string,
  conditions: RangerPolicyItem["conditions"],
  conditionNames: Set<string>,
): void {
  (conditions ?? []).forEach((c, i) => {
    const at = `${field}[${i}]`;
    if (!conditionNames.has(c.type)) {
      f.add(`${at}.type`, "conditionKnown", `\`${c.type}\` is not a condition of this service-def`);
      return;
    }
    if (c.type === "_expression") {
      for (const script of c.values ?? []) {
        for (const issue of expressionIssues(() => validateExpression(script))) {
          f.add(`${at}.values`, "expression", `\`${script}\` is not a valid condition expression: ${issue}`);
        }
      }
    }
  });
}

/**
 * Validates a normalised policy against its service-def, the way Ranger's `RangerPolicyValidator`
 * does (ranger-semantics §1.5). Returns every failure, each naming its field (under `prefix`) and
 * rule; an empty list means the policy may be stored. Name uniqueness and resource signatures need
 * the database and are checked by the service.
 */
export function validatePolicy(policy: RangerPolicy, def: RangerServiceDef, prefix = "body"): ErrorDetail[] {
  const f = new Failures();
  const name = policy.name ?? "";
  if (name.trim() === "") f.add(`${prefix}.name`, "minLength", "must not be empty");
  if (name.length > MAX_NAME) f.add(`${prefix}.name`, "maxLength", `must be at most ${MAX_NAME} characters`);
  if (hasInvisibleCharacter(name)) f.add(`${prefix}.name`, "noInvisibleCharacters", INVISIBLE_PROBLEM);

  const policyType = policy.policyType ?? 0;
  if (![0, 1, 2].includes(policyType)) {
    f.add(`${prefix}.policyType`, "enum", "must be 0 (access), 1 (masking) or 2 (row filter)");
    return f.list;
  }
  if (![0, 1].includes(policy.policyPriority ?? 0)) {
    f.add(`${prefix}.policyPriority`, "enum", "must be 0 (normal) or 1 (override)");
  }
  if (policyType === 1 && (def.dataMaskDef?.resources ?? []).length === 0) {
    f.add(`${prefix}.policyType`, "maskSupported", `service type \`${def.name}\` does not define masking`);
    return f.list;
  }
  if (policyType === 2 && (def.rowFilterDef?.resources ?? []).length === 0) {
    f.add(`${prefix}.policyType`, "rowFilterSupported", `service type \`${def.name}\` does not define row filters`);
    return f.list;
  }

  const { prepared, byName, hierarchies } = typeDefs(def, policyType);
  checkResources(f, `${prefix}.resources`, policy.resources, byName, hierarchies, policyType);
  (policy.additionalResources ?? []).forEach((resources, i) => {
    checkResources(f, `${prefix}.additionalResources[${i}]`, resources, byName, hierarchies, policyType);
  });

  const conditionNames = new Set((def.policyConditions ?? []).map((c) => c.name));
  if (String(def.options?.enableImplicitConditionExpression ?? "true") !== "false") conditionNames.add("_expression");
  checkConditions(f, `${prefix}.conditions`, policy.conditions, conditionNames);

  const accessNames =
    policyType === 0
      ? new Set([
          ...prepared.accessTypeNames,
          ...(def.markerAccessTypes ?? []).map((a) => a.name),
          ...["_CREATE", "_READ", "_UPDATE", "_DELETE", "_MANAGE", "_ALL"],
        ])
      : new Set(
          ((policyType === 1 ? def.dataMaskDef?.accessTypes : def.rowFilterDef?.accessTypes) ?? []).map((a) => a.name),
        );
  const maskTypes = new Set((def.dataMaskDef?.maskTypes ?? []).map((m) => m.name));
  const allowedLists = LISTS_BY_TYPE[policyType] ?? [];
  let itemCount = 0;

  for (const list of ITEM_LISTS) {
    const items = (policy[list] as RangerPolicyItem[] | undefined) ?? [];
    if (items.length === 0) continue;
    if (!allowedLists.includes(list)) {
      f.add(
        `${prefix}.${list}`,
        "itemsForType",
        `a ${TYPE_NAMES[policyType]} policy (policyType ${policyType}) cannot have ${list}; use ${allowedLists.join(", ")}`,
      );
      continue;
    }
    if (list !== "policyItems" && policyType === 0 && !prepared.denyAndExceptionsEnabled) {
      f.add(`${prefix}.${list}`, "denyAndExceptions", "this service-def disables deny items and exceptions");
    }
    if (policy.isDenyAllElse && (list === "denyPolicyItems" || list === "denyExceptions")) {
      f.add(`${prefix}.${list}`, "denyAllElse", "must be empty when isDenyAllElse is true");
    }
    items.forEach((item, i) => {
      itemCount++;
      const at = `${prefix}.${list}[${i}]`;
      if ((item.users ?? []).length + (item.groups ?? []).length + (item.roles ?? []).length === 0) {
        f.add(at, "principal", "must name at least one user, group or role");
      }
      for (const [kind, names] of [
        ["users", item.users],
        ["groups", item.groups],
        ["roles", item.roles],
      ] as const) {
        if ((names ?? []).some((n) => n.trim() === "")) f.add(`${at}.${kind}`, "nonEmpty", "names must not be empty");
        (names ?? []).forEach((n, j) => {
          if (n.length > MAX_INDEXED_NAME) {
            f.add(`${at}.${kind}[${j}]`, "maxLength", `must be at most ${MAX_INDEXED_NAME} characters`);
          }
        });
      }
      const accesses = item.accesses ?? [];
      if (accesses.length === 0 && policyType === 0)
        f.add(`${at}.accesses`, "minItems", "must grant at least one access");
      accesses.forEach((a, j) => {
        if (!accessNames.has(a.type ?? "")) {
          f.add(
            `${at}.accesses[${j}].type`,
            "accessTypeKnown",
            `\`${a.type}\` is not an access type of ${TYPE_NAMES[policyType]} policies; known: ${[...accessNames].join(", ")}`,
          );
        }
      });
      checkConditions(f, `${at}.conditions`, item.conditions, conditionNames);
      if (list === "dataMaskPolicyItems") {
        const info = (item as { dataMaskInfo?: { dataMaskType?: string; valueExpr?: string; conditionExpr?: string } })
          .dataMaskInfo;
        const maskType = info?.dataMaskType ?? "";
        if (!maskTypes.has(maskType)) {
          f.add(
            `${at}.dataMaskInfo.dataMaskType`,
            "maskTypeKnown",
            `\`${maskType}\` is not a mask type of this service; known: ${[...maskTypes].join(", ")}`,
          );
        }
        if (maskType === "CUSTOM" && !info?.valueExpr) {
          f.add(`${at}.dataMaskInfo.valueExpr`, "required", "is required for the CUSTOM mask type");
        }
        for (const key of ["valueExpr", "conditionExpr"] as const) {
          const text = info?.[key];
          if (!text) continue;
          for (const issue of expressionIssues(() => validateTemplate(text))) {
            f.add(`${at}.dataMaskInfo.${key}`, "expression", `is not a valid expression: ${issue}`);
          }
        }
      }
      if (list === "rowFilterPolicyItems") {
        const expr = (item as { rowFilterInfo?: { filterExpr?: string } }).rowFilterInfo?.filterExpr ?? "";
        if (expr.trim() === "") f.add(`${at}.rowFilterInfo.filterExpr`, "required", "must be a non-empty filter");
        for (const issue of expressionIssues(() => validateTemplate(expr))) {
          f.add(`${at}.rowFilterInfo.filterExpr`, "expression", `is not a valid expression: ${issue}`);
        }
      }
    });
  }
  if (itemCount === 0 && policy.isAuditEnabled === false) {
    f.add(prefix, "items", "a policy without items must have auditing enabled (it would do nothing)");
  }
  if (policy.isDenyAllElse && policyType !== 0) {
    f.add(`${prefix}.isDenyAllElse`, "accessOnly", "only access policies can deny all else");
  }
  if (policy.validitySchedules && policy.validitySchedules.length > 0) {
    const result = validateSchedules(policy.validitySchedules);
    for (const failure of result.failures) {
      f.add(`${prefix}.validitySchedules`, "schedule", `${failure.field}: ${failure.reason}`);
    }
  }
  if ((policy.policyLabels ?? []).some((l) => l.trim() === "")) {
    f.add(`${prefix}.policyLabels`, "nonEmpty", "labels must not be empty");
  }
  (policy.policyLabels ?? []).forEach((label, i) => {
    if (label.length > MAX_INDEXED_NAME) {
      f.add(`${prefix}.policyLabels[${i}]`, "maxLength", `must be at most ${MAX_INDEXED_NAME} characters`);
    }
  });
  return f.list;
}
