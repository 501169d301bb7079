import {
  type PolicyEngine,
  type RangerAccessRequest,
  type RangerAccessResult,
  type RangerServiceDef,
  type WorkBudget,
  WorkBudgetExceeded,
  workBudget,
} from "../engine/index.ts";
import {
  AccessTypeUnknown,
  type AppError,
  DecisionBudgetExceeded,
  DecisionUserUnknown,
  ResourceKeyUnknown,
  ValidationFailed,
} from "../errors.ts";
import type { LiveEngine } from "./live-engines.ts";
import type { Principal, PrincipalCache } from "./principals.ts";

/**
 * A decision request as the API takes it (`POST /v1/decisions`, or one item of a batch, whose
 * `service` may come from the batch). The parsed body is used as it is, never copied.
 */
export interface DecisionInput {
  service?: string | undefined;
  user: string;
  groups?: string[] | undefined;
  roles?: string[] | undefined;
  resource: Record<string, string | string[]>;
  /** Never empty (the schema requires it): any access is asked for as `_any`. */
  accessType: string;
  action?: string | undefined;
  policyType?: "access" | "datamask" | "rowfilter" | undefined;
  context?: Record<string, unknown> | undefined;
  resourceMatchingScope?: "SELF" | "SELF_OR_DESCENDANTS" | undefined;
  isDescendantDenyIgnored?: boolean | undefined;
}

/** A decision as the API answers it: Ranger's result fields under plain names, plus a reason. */
export interface DecisionOutput {
  allowed: boolean;
  determined: boolean;
  /** The deciding policy, or -1 when none decided (default deny, super user). */
  policyId: number;
  /** Version of the deciding policy (Ranger's result `policyVersion`), or null. */
  policyVersion: number | null;
  /** The service policy version the engine served. */
  servicePolicyVersion: number;
  audited: boolean;
  reason: string;
  maskType?: string;
  maskedValue?: string;
  maskCondition?: string;
  filterExpr?: string;
}

/** What the audit log keeps of one decision. */
export interface DecisionRecord {
  service: string;
  user: string;
  groups: string[];
  roles: string[];
  accessType: string;
  action: string | null;
  resource: string;
  policyType: number;
  allowed: boolean;
  determined: boolean;
  policyId: number | null;
  policyVersion: number | null;
  reason: string;
}

const SPECIAL_ACCESS = new Set(["_any", "_admin", "_super_user"]);
const POLICY_TYPES = { access: 0, datamask: 1, rowfilter: 2 } as const;

/** Resource and access-type names a service-def allows, computed once per def object. */
interface DefNames {
  resources: string[];
  resourceSet: Set<string>;
  accessTypes: Set<string>;
}
const defNames = new WeakMap<RangerServiceDef, DefNames>();

function namesOf(def: RangerServiceDef): DefNames {
  let names = defNames.get(def);
  if (!names) {
    const resources = [...new Set((def.resources ?? []).map((r) => r.name))];
    const accessTypes = new Set<string>();
    for (const a of [...(def.accessTypes ?? []), ...(def.markerAccessTypes ?? [])]) accessTypes.add(a.name);
    names = { resources, resourceSet: new Set(resources), accessTypes };
    defNames.set(def, names);
  }
  return names;
}

/**
 * Values one resource element of a decision request may list (`catalog: ["a", "b", …]`). Matching
 * a collection costs its length times the policy values tried one by one, so the length is bounded
 * here and the product by the request's work budget (`decisionWorkBudget`, docs/decisions.md).
 */
export const MAX_RESOURCE_VALUES = 1000;

/**
 * Throws RESOURCE_KEY_UNKNOWN / ACCESS_TYPE_UNKNOWN naming the offending input, and
 * VALIDATION_FAILED for a resource element listing more than MAX_RESOURCE_VALUES values.
 */
export function checkRequestNames(
  live: LiveEngine,
  resource: Record<string, unknown>,
  accessType: string | undefined,
  field = "body",
): void {
  const names = namesOf(live.def);
  for (const key in resource) {
    if (!names.resourceSet.has(key)) {
      const message = `${field}.resource.${key}: \`${key}\` is not a resource of service \`${live.serviceName}\` (type \`${live.serviceType}\`: ${names.resources.join(", ")})`;
      throw ResourceKeyUnknown(message, {
        details: [{ field: `${field}.resource.${key}`, rule: "resourceKey", message }],
      });
    }
    const value = resource[key];
    if (Array.isArray(value) && value.length > MAX_RESOURCE_VALUES) {
      const message = `${field}.resource.${key}: must have at most ${MAX_RESOURCE_VALUES} values`;
      throw ValidationFailed(message, { details: [{ field: `${field}.resource.${key}`, rule: "maxItems", message }] });
    }
  }
  if (accessType !== undefined && !SPECIAL_ACCESS.has(accessType) && !names.accessTypes.has(accessType)) {
    const message = `${field}.accessType: \`${accessType}\` is not an access type of service \`${live.serviceName}\` (${[...names.accessTypes].join(", ")})`;
    throw AccessTypeUnknown(message, { details: [{ field: `${field}.accessType`, rule: "accessType", message }] });
  }
}

/** `catalog=a/schema=b` in the service-def's resource order: the audit log's searchable form. */
export function resourceKey(live: LiveEngine, resource: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const name of namesOf(live.def).resources) {
    const v = resource[name];
    if (v === undefined) continue;
    parts.push(`${name}=${Array.isArray(v) ? v.join("|") : v}`);
  }
  return parts.join("/");
}

/** The user's groups and roles: as given, or resolved from the directory. */
export async function principalsFor(
  principals: PrincipalCache,
  input: { user: string; groups?: string[] | undefined; roles?: string[] | undefined },
  field = "body",
): Promise<{ groups: string[]; roles: string[] }> {
  const known = principalsCached(principals, input, field);
  if (known) return known;
  return fromDirectory(await principals.byUsername(input.user), input, field);
}

/**
 * `principalsFor` without awaiting, for the hot path: undefined when the user's memberships are
 * not cached yet (the caller then awaits `principalsFor`).
 */
export function principalsCached(
  principals: PrincipalCache,
  input: { user: string; groups?: string[] | undefined; roles?: string[] | undefined },
  field = "body",
): { groups: string[]; roles: string[] } | undefined {
  if (input.groups !== undefined && input.roles !== undefined) return { groups: input.groups, roles: input.roles };
  const found = principals.peek(input.user);
  return found === undefined ? undefined : fromDirectory(found, input, field);
}

function fromDirectory(
  found: Principal | null,
  input: { user: string; groups?: string[] | undefined; roles?: string[] | undefined },
  field: string,
): { groups: string[]; roles: string[] } {
  if (found === null) {
    if (input.groups !== undefined) return { groups: input.groups, roles: input.roles ?? [] };
    const message = `${field}.user: user \`${input.user}\` is not in the directory; send \`groups\` and \`roles\` to decide for an external user`;
    throw DecisionUserUnknown(message, { details: [{ field: `${field}.user`, rule: "exists", message }] });
  }
  // The cached principal itself carries `groups` and `roles`: no object per decision.
  if (input.groups === undefined && input.roles === undefined) return found;
  return { groups: input.groups ?? found.groups, roles: input.roles ?? found.roles };
}

/**
 * Builds the engine request; `roles` are always passed so the engine never guesses them. `budget`
 * bounds the matching work of collection values: given, it is used (a batch shares one); absent, a
 * resource with a collection gets a fresh one of `budgetUnits` (a single-valued request costs what
 * the service's policies cost, which the request cannot multiply).
 */
export function toEngineRequest(
  input: DecisionInput,
  groups: string[],
  roles: string[],
  clientIp: string | undefined,
  budgetUnits: number,
  budget?: WorkBudget,
): RangerAccessRequest {
  const req: RangerAccessRequest = {
    resource: { elements: input.resource },
    accessType: input.accessType,
    user: input.user,
    userGroups: groups,
    // A non-empty list stops the engine from computing roles from its (empty) role store.
    userRoles: roles,
  };
  if (input.action !== undefined) req.action = input.action;
  if (input.context !== undefined) req.context = input.context;
  if (clientIp !== undefined) req.clientIPAddress = clientIp;
  if (input.resourceMatchingScope !== undefined) req.resourceMatchingScope = input.resourceMatchingScope;
  if (input.isDescendantDenyIgnored !== undefined) req.isDescendantDenyIgnored = input.isDescendantDenyIgnored;
  if (budget !== undefined) req.workBudget = budget;
  else if (hasCollection(input.resource)) req.workBudget = workBudget(budgetUnits);
  return req;
}

function hasCollection(resource: Record<string, string | string[]>): boolean {
  for (const key in resource) if (typeof resource[key] !== "string") return true;
  return false;
}

/**
 * Runs the engine for the requested policy type. A request whose matching would exceed its work
 * budget is DECISION_BUDGET_EXCEEDED naming the resource element (`field.resource.<name>`).
 */
export function evaluate(
  live: LiveEngine,
  input: DecisionInput,
  req: RangerAccessRequest,
  field = "body",
): RangerAccessResult {
  return evaluateWith(live.engine, input, req, field);
}

/**
 * `evaluate` against a given engine: a policy simulation decides with the live engine and with its
 * draft overlay (src/simulations/) through this one path, so its answers are the live ones.
 */
export function evaluateWith(
  engine: PolicyEngine,
  input: Pick<DecisionInput, "policyType">,
  req: RangerAccessRequest,
  field = "body",
): RangerAccessResult {
  const type = POLICY_TYPES[input.policyType ?? "access"];
  try {
    if (type === 1) return engine.evaluateDataMask(req);
    if (type === 2) return engine.evaluateRowFilter(req);
    return engine.isAccessAllowed(req);
  } catch (err) {
    throw err instanceof WorkBudgetExceeded ? budgetExceeded(err, field) : err;
  }
}

/** DECISION_BUDGET_EXCEEDED for the engine's WorkBudgetExceeded, naming the resource element. */
export function budgetExceeded(err: WorkBudgetExceeded, field = "body"): AppError {
  const at = `${field}.resource.${err.resourceName}`;
  const message = `${at}: matching its values against the service's policies needs more than the request's work budget of ${err.limit} units (\`decisionWorkBudget\`); send fewer values`;
  return DecisionBudgetExceeded(message, { details: [{ field: at, rule: "workBudget", message }], cause: err });
}

function reasonOf(res: RangerAccessResult): string {
  if (res.reason) return res.reason;
  if (res.policyType === 1) {
    return res.maskType ? `masked (${res.maskType}) by policy ${res.policyId}` : "no data-mask policy applies";
  }
  if (res.policyType === 2) {
    return res.filterExpr ? `row filter of policy ${res.policyId}` : "no row-filter policy applies";
  }
  if (res.policyId >= 0) return `${res.isAllowed ? "allowed" : "denied"} by policy ${res.policyId}`;
  if (!res.isAccessDetermined) return "no policy decided: not determined";
  return res.isAllowed ? "allowed" : "no policy allows the access: denied by default";
}

/** Shapes an engine result for the API. */
export function present(live: LiveEngine, res: RangerAccessResult): DecisionOutput {
  const out: DecisionOutput = {
    allowed: res.isAllowed,
    determined: res.isAccessDetermined,
    policyId: res.policyId,
    policyVersion: policyVersionOf(live, res),
    servicePolicyVersion: live.version,
    audited: res.isAudited,
    reason: reasonOf(res),
  };
  if (res.maskType !== undefined) out.maskType = res.maskType;
  if (res.maskedValue !== undefined) out.maskedValue = res.maskedValue;
  if (res.maskCondition !== undefined) out.maskCondition = res.maskCondition;
  if (res.filterExpr !== undefined) out.filterExpr = res.filterExpr;
  return out;
}

/** The version of the policy that decided, as the service holds it (null when none decided). */
export function policyVersionOf(live: LiveEngine, res: RangerAccessResult): number | null {
  return res.policyId >= 0 ? (live.policies.get(res.policyId)?.version ?? res.policyVersion ?? null) : null;
}

/** The audit record of a decision. */
export function recordOf(
  live: LiveEngine,
  input: DecisionInput,
  groups: string[],
  roles: string[],
  res: RangerAccessResult,
): DecisionRecord {
  return {
    service: live.serviceName,
    user: input.user,
    groups,
    roles,
    accessType: input.accessType,
    action: input.action ?? null,
    resource: resourceKey(live, input.resource),
    policyType: POLICY_TYPES[input.policyType ?? "access"],
    allowed: res.isAllowed,
    determined: res.isAccessDetermined,
    policyId: res.policyId >= 0 ? res.policyId : null,
    policyVersion: policyVersionOf(live, res),
    reason: reasonOf(res),
  };
}

/** An error of one batch item, in the catalogue's shape. */
export function itemError(err: AppError): { code: string; message: string } {
  return { code: err.code, message: err.message };
}
