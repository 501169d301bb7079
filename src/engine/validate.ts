import { validateExpression, validateTemplate } from "./expression/index.ts";
import { prepareServiceDef } from "./model/service-def.ts";
import { type ScheduleValidationFailure, validateSchedule } from "./schedule/index.ts";
import type {
  RangerDataMaskPolicyItem,
  RangerPolicy,
  RangerPolicyItem,
  RangerPolicyItemCondition,
  RangerResourceDef,
  RangerRowFilterPolicyItem,
  RangerServiceDef,
} from "./types.ts";

/**
 * Policy validation against a service-def, in the spirit of Ranger's `RangerPolicyValidator`:
 * resource keys and hierarchy (one hierarchy, no gaps, mandatory levels down to a valid leaf),
 * excludes/recursive support, access types (per policy type, tag `component:access` names),
 * mask types, item lists that fit the policy type, policy conditions, validity schedules, and
 * every expression (`${{…}}` in resource values, mask/row-filter expressions, script
 * conditions) through the safe expression language. Errors name the offending field with a
 * JSON-path-like string, e.g. `policyItems[0].accesses[1].type`.
 *
 * Deliberate leniency: `excludesSupported`/`recursiveSupported` reject only when the service-def
 * says `false` (Ranger treats a missing flag as false; many hand-written defs omit it).
 */
export interface PolicyValidationError {
  field: string;
  message: string;
}

export interface PolicyValidationResult {
  errors: PolicyValidationError[];
}

const SCRIPT_EVALUATORS = new Set(["RangerScriptConditionEvaluator"]);
const ITEM_LISTS = ["policyItems", "denyPolicyItems", "allowExceptions", "denyExceptions"] as const;

export function validatePolicy(serviceDef: RangerServiceDef, policy: RangerPolicy): PolicyValidationResult {
  const errors: PolicyValidationError[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  const sd = prepareServiceDef(serviceDef);
  const type = policy.policyType ?? 0;
  if (type !== 0 && type !== 1 && type !== 2) {
    err("policyType", `unknown policy type ${String(type)} (0 access, 1 data mask, 2 row filter)`);
    return { errors };
  }
  if (type === 1 && !serviceDef.dataMaskDef?.resources?.length)
    err("policyType", `service-def '${serviceDef.name}' does not support data-mask policies`);
  if (type === 2 && !serviceDef.rowFilterDef?.resources?.length)
    err("policyType", `service-def '${serviceDef.name}' does not support row-filter policies`);

  validateResources(sd.resourcesByType[type], sd.hierarchiesByType[type], policy.resources ?? {}, "resources", err);
  (policy.additionalResources ?? []).forEach((r, i) => {
    validateResources(sd.resourcesByType[type], sd.hierarchiesByType[type], r ?? {}, `additionalResources[${i}]`, err);
  });

  // access types valid for this policy type (tag service-defs name them `component:access`)
  const accessNames = new Set<string>();
  const typeAccess =
    type === 1 ? serviceDef.dataMaskDef?.accessTypes : type === 2 ? serviceDef.rowFilterDef?.accessTypes : undefined;
  for (const a of typeAccess && typeAccess.length > 0 ? typeAccess : (serviceDef.accessTypes ?? []))
    accessNames.add(a.name.toLowerCase());
  for (const a of serviceDef.markerAccessTypes ?? []) if (type === 0) accessNames.add(a.name.toLowerCase());
  const maskTypes = new Set((serviceDef.dataMaskDef?.maskTypes ?? []).map((m) => m.name));
  const conditionDefs = new Map((serviceDef.policyConditions ?? []).map((c) => [c.name, c]));

  const present = (k: string) => ((policy as Record<string, unknown>)[k] as unknown[] | undefined)?.length ?? 0;
  if (type === 0) {
    if (present("dataMaskPolicyItems") > 0)
      err("dataMaskPolicyItems", "only data-mask policies (policyType 1) have them");
    if (present("rowFilterPolicyItems") > 0)
      err("rowFilterPolicyItems", "only row-filter policies (policyType 2) have them");
    if (ITEM_LISTS.every((k) => present(k) === 0) && policy.isDenyAllElse !== true && policy.isAuditEnabled === false)
      err("policyItems", "an access policy needs at least one item, deny-all-else or auditing");
    if (!sd.denyAndExceptionsEnabled)
      for (const k of ["denyPolicyItems", "allowExceptions", "denyExceptions"] as const)
        if (present(k) > 0) err(k, `service-def '${serviceDef.name}' disables deny items and exceptions`);
  } else {
    for (const k of ITEM_LISTS)
      if (present(k) > 0) err(k, `${type === 1 ? "data-mask" : "row-filter"} policies have no ${k}`);
    if (type === 1 && present("rowFilterPolicyItems") > 0)
      err("rowFilterPolicyItems", "a data-mask policy has no row-filter items");
    if (type === 2 && present("dataMaskPolicyItems") > 0)
      err("dataMaskPolicyItems", "a row-filter policy has no data-mask items");
    if (policy.isDenyAllElse === true) err("isDenyAllElse", "deny-all-else applies to access policies only");
  }

  const checkItem = (item: RangerPolicyItem, field: string) => {
    const principals = (item.users?.length ?? 0) + (item.groups?.length ?? 0) + (item.roles?.length ?? 0);
    if (principals === 0) err(field, "no users, groups or roles");
    (item.accesses ?? []).forEach((a, j) => {
      const t = a.type ?? "";
      const name = t.toLowerCase();
      const bare = name.includes(":") ? name.slice(name.indexOf(":") + 1) : name;
      if (!t) err(`${field}.accesses[${j}].type`, "empty access type");
      else if (!accessNames.has(name) && !accessNames.has(bare))
        err(`${field}.accesses[${j}].type`, `access type '${t}' is not defined for this policy type`);
    });
    if ((item.accesses?.length ?? 0) === 0 && item.delegateAdmin !== true) err(`${field}.accesses`, "no access types");
    (item.conditions ?? []).forEach((c, j) => {
      checkCondition(c, `${field}.conditions[${j}]`);
    });
  };
  const checkCondition = (c: RangerPolicyItemCondition, field: string) => {
    let def = conditionDefs.get(c.type);
    if (!def && (c.type === "expression" || c.type === "_expression"))
      def = { name: c.type, evaluator: "RangerScriptConditionEvaluator" };
    if (!def) {
      err(`${field}.type`, `condition '${c.type}' is not defined in the service-def`);
      return;
    }
    const cls = (def.evaluator ?? "").split(".").pop() ?? "";
    if (SCRIPT_EVALUATORS.has(cls)) {
      const source = (c.values ?? []).join(" ");
      for (const e of validateExpression(source).errors) err(`${field}.values`, e.message);
    }
  };

  if (type === 0)
    for (const k of ITEM_LISTS)
      (policy[k] ?? []).forEach((it, i) => {
        checkItem(it, `${k}[${i}]`);
      });
  if (type === 1)
    (policy.dataMaskPolicyItems ?? []).forEach((it: RangerDataMaskPolicyItem, i) => {
      const field = `dataMaskPolicyItems[${i}]`;
      checkItem(it, field);
      const info = it.dataMaskInfo;
      const mt = info?.dataMaskType ?? "";
      const bare = mt.includes(":") ? mt.slice(mt.indexOf(":") + 1) : mt;
      if (!mt) err(`${field}.dataMaskInfo.dataMaskType`, "missing mask type");
      else if (maskTypes.size > 0 && !maskTypes.has(mt) && !maskTypes.has(bare))
        err(`${field}.dataMaskInfo.dataMaskType`, `mask type '${mt}' is not defined in the service-def`);
      for (const k of ["conditionExpr", "valueExpr"] as const) {
        const v = info?.[k];
        if (v) for (const e of validateTemplate(v).errors) err(`${field}.dataMaskInfo.${k}`, e.message);
      }
    });
  if (type === 2)
    (policy.rowFilterPolicyItems ?? []).forEach((it: RangerRowFilterPolicyItem, i) => {
      const field = `rowFilterPolicyItems[${i}]`;
      checkItem(it, field);
      const expr = it.rowFilterInfo?.filterExpr;
      if (!expr) err(`${field}.rowFilterInfo.filterExpr`, "missing row-filter expression");
      else for (const e of validateTemplate(expr).errors) err(`${field}.rowFilterInfo.filterExpr`, e.message);
    });
  (policy.conditions ?? []).forEach((c, j) => {
    checkCondition(c, `conditions[${j}]`);
  });
  (policy.validitySchedules ?? []).forEach((s, i) => {
    const failures: ScheduleValidationFailure[] = [];
    validateSchedule(s, failures);
    for (const f of failures) err(`validitySchedules[${i}]${f.field ? `.${f.field}` : ""}`, f.reason);
  });
  return { errors };
}

function validateResources(
  defs: ReadonlyMap<string, RangerResourceDef> | undefined,
  hierarchies: readonly RangerResourceDef[][] | undefined,
  resources: Record<string, { values?: string[]; isExcludes?: boolean; isRecursive?: boolean } | undefined>,
  field: string,
  err: (field: string, message: string) => void,
): void {
  const keys = Object.keys(resources).filter((k) => resources[k]);
  if (keys.length === 0) {
    err(field, "no resources");
    return;
  }
  let known = true;
  for (const k of keys) {
    const def = defs?.get(k);
    if (!def) {
      err(`${field}.${k}`, `resource '${k}' is not defined for this policy type`);
      known = false;
      continue;
    }
    const r = resources[k]!;
    const values = r.values ?? [];
    if (values.length === 0 || values.every((v) => v === "" || v === null)) err(`${field}.${k}.values`, "no values");
    if (r.isExcludes === true && def.excludesSupported === false)
      err(`${field}.${k}.isExcludes`, `resource '${k}' does not support excludes`);
    if (r.isRecursive === true && def.recursiveSupported === false)
      err(`${field}.${k}.isRecursive`, `resource '${k}' does not support recursive values`);
    values.forEach((v, i) => {
      if (typeof v !== "string") return;
      if (v.includes("${{")) for (const e of validateTemplate(v).errors) err(`${field}.${k}.values[${i}]`, e.message);
      if (def.validationRegEx && !v.includes("*") && !v.includes("{")) {
        let re: RegExp | null = null;
        try {
          re = new RegExp(def.validationRegEx);
        } catch {
          re = null;
        }
        if (re && !re.test(v))
          err(`${field}.${k}.values[${i}]`, def.validationMessage || `'${v}' does not match ${def.validationRegEx}`);
      }
    });
  }
  if (!known) return;
  // one hierarchy must hold every key, as a gap-free chain from the root, down to a valid leaf
  const fitting = (hierarchies ?? []).filter((h) => keys.every((k) => h.some((d) => d.name === k)));
  if (fitting.length === 0) {
    err(field, `resources [${keys.join(", ")}] do not form a hierarchy of the service-def`);
    return;
  }
  const reasons: string[] = [];
  for (const h of fitting) {
    const present = h.map((d) => keys.includes(d.name));
    const last = present.lastIndexOf(true);
    const gap = present.slice(0, last + 1).indexOf(false);
    if (gap >= 0) {
      reasons.push(`'${h[gap].name}' is missing above '${h[last].name}'`);
      continue;
    }
    const leaf = h[last];
    const below = h.slice(last + 1);
    const mandatoryBelow = below.find((d) => d.mandatory === true);
    const validLeaf =
      leaf.isValidLeaf === true || below.length === 0 || (leaf.isValidLeaf !== false && !mandatoryBelow);
    if (!validLeaf) {
      reasons.push(`mandatory resource '${(mandatoryBelow ?? below[0]).name}' is missing below '${leaf.name}'`);
      continue;
    }
    return;
  }
  err(field, reasons[0] ?? "invalid resource hierarchy");
}
