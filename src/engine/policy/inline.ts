import { matchTypeInScope, PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import { wildcardMatch } from "../match/wildcard.ts";
import type { PreparedServiceDef } from "../model/service-def.ts";
import type {
  RangerAccessRequest,
  RangerAccessResult,
  RangerInlineGrant,
  RangerInlinePolicy,
  RangerPolicyResources,
} from "../types.ts";
import type { RequestState } from "./request-state.ts";

/**
 * Inline policies (Ranger's `RangerInlinePolicyEvaluator`): grants carried by the request itself,
 * evaluated after the service's policies. The grantor, when given, must itself be allowed the
 * request by the service's policies; then one grant must match principal, permission (implied
 * grants expanded), action and resource. The mode says how this combines with the service's
 * decision: INLINE replaces it, RANGER_AND_INLINE requires both, RANGER_OR_INLINE either.
 */

/** Parses `key:vol/bucket/a/b` into policy resources along the hierarchy ending at `key`. */
export function parseInlineResource(sd: PreparedServiceDef, spec: string): RangerPolicyResources | null {
  const colon = spec.indexOf(":");
  if (colon <= 0) return null;
  const leaf = spec.slice(0, colon);
  const value = spec.slice(colon + 1);
  for (const h of sd.hierarchiesByType[0] ?? []) {
    const idx = h.findIndex((d) => d.name === leaf);
    if (idx < 0) continue;
    const parts = value.split("/");
    if (parts.length < idx + 1) return null;
    const out: RangerPolicyResources = {};
    for (let i = 0; i < idx; i++) out[h[i].name] = { values: [parts[i]] };
    out[leaf] = { values: [parts.slice(idx).join("/")] };
    return out;
  }
  return null;
}

interface CompiledGrant {
  readonly grant: RangerInlineGrant;
  readonly permissions: ReadonlySet<string>;
  readonly matchers: readonly PolicyResourceMatcher[];
}

function compileGrant(sd: PreparedServiceDef, grant: RangerInlineGrant): CompiledGrant {
  const permissions = new Set<string>();
  for (const p of grant.permissions ?? []) {
    const lower = p.toLowerCase();
    permissions.add(lower);
    for (const g of sd.impliedGrants.get(lower) ?? []) permissions.add(g);
  }
  const matchers: PolicyResourceMatcher[] = [];
  for (const r of grant.resources ?? []) {
    const res = parseInlineResource(sd, r);
    if (res) matchers.push(new PolicyResourceMatcher(sd, 0, res));
  }
  return { grant, permissions, matchers };
}

function grantAllows(g: CompiledGrant, state: RequestState): boolean {
  const principals = g.grant.principals ?? [];
  let principalOk = principals.length === 0 || principals.includes("g:public");
  if (!principalOk && state.user) principalOk = principals.includes(`u:${state.user}`);
  if (!principalOk) principalOk = state.groups.some((x) => principals.includes(`g:${x}`));
  if (!principalOk) for (const r of state.roles()) if (principals.includes(`r:${r}`)) principalOk = true;
  if (!principalOk) return false;
  if (state.isAnyAccess || !g.permissions.has(state.accessType)) return false;
  const actions = g.grant.actions ?? [];
  if (actions.length > 0) {
    const action = state.request.action;
    if (!action || !actions.some((a) => wildcardMatch(action, a))) return false;
  }
  if ((g.grant.resources ?? []).length === 0) return true;
  const req = state.request;
  return g.matchers.some((m) =>
    matchTypeInScope(m.getMatchType(req.resource, req.resourceElementMatchingScopes, state.env), "SELF"),
  );
}

/** A request for the grantor principal (`u:`, `g:`, `r:`) in place of the request's user. */
export function grantorRequest(request: RangerAccessRequest, grantor: string): RangerAccessRequest | null {
  const colon = grantor.indexOf(":");
  if (colon < 0) return null;
  const type = grantor.slice(0, colon);
  const name = grantor.slice(colon + 1);
  if (type !== "u" && type !== "g" && type !== "r") return null;
  const user = type === "u" ? name : "";
  return {
    ...request,
    user,
    userGroups: type === "g" ? [name] : [],
    userRoles: type === "r" ? [name] : [],
    context: { ...(request.context ?? {}), "token:USER": user },
    inlinePolicy: undefined,
  };
}

/**
 * Applies the inline policy to `res`. `isAllowedByService` evaluates a request against the
 * service's policies (used for the grantor).
 */
export function applyInlinePolicy(
  policy: RangerInlinePolicy,
  sd: PreparedServiceDef,
  state: RequestState,
  res: RangerAccessResult,
  isAllowedByService: (req: RangerAccessRequest) => boolean,
): void {
  const allowedByRanger = res.isAccessDetermined && res.isAllowed;
  const mode = policy.mode ?? "INLINE";
  const evaluate = mode === "INLINE" ? true : mode === "RANGER_AND_INLINE" ? allowedByRanger : !allowedByRanger;
  if (!evaluate) return;
  let allowed = true;
  if (policy.grantor) {
    const greq = grantorRequest(state.request, policy.grantor);
    allowed = greq !== null && isAllowedByService(greq);
  }
  const grants = (policy.grants ?? []).map((g) => compileGrant(sd, g));
  if (allowed && grants.length > 0) allowed = grants.some((g) => grantAllows(g, state));
  res.isAllowed = allowed;
  res.isAccessDetermined = true;
  res.policyId = -1;
  res.policyVersion = undefined;
  res.reason = "inline-policy";
}
