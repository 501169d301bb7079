import { type DecisionInput, policyVersionOf, principalsCached, principalsFor } from "../../decisions/decide.ts";
import { createDecider } from "../../decisions/decisions.routes.ts";
import type { LiveEngine } from "../../decisions/live-engines.ts";
import type { DecisionRuntime } from "../../decisions/runtime.ts";
import type {
  AclAccessResult,
  AclPermissions,
  RangerAccessRequest,
  RangerAccessResult,
  RangerServiceDef,
} from "../../engine/index.ts";
import { AppError, DecisionUserUnknown, Forbidden, Unauthenticated, ValidationFailed } from "../../errors.ts";
import { type Delegation, needsDelegation } from "./delegation.ts";
import type {
  AccessContext,
  AccessInfo,
  AccessResult,
  AuthzRequest,
  AuthzResult,
  Decision,
  FilterResourcesRequest,
  FilterResourcesResult,
  MultiAuthzRequest,
  MultiAuthzResult,
  PermissionResult,
  PolicyInfo,
  ResourceInfo,
  ResourcePermissions,
  ResourcePermissionsRequest,
  ResultInfo,
  UserInfo,
} from "./pdp.schemas.ts";
import { authzError, noDefaultServiceError, USER_INFO_MISSING_MESSAGE } from "./pdp-errors.ts";
import { type PolicyKinds, policyKinds } from "./policy-kinds.ts";
import { parseResourceName, withSubResource } from "./resource-names.ts";

/** The authenticated caller and the HTTP request's id and client address (for the decision log). */
export interface PdpContext {
  caller: string;
  id: string;
  ip: string;
}

type Principals = { groups: string[]; roles: string[] };
type Answer<T> = T | Promise<T>;
/** The request once checked: its service's engine, the user's principals. */
type Ready = { live: LiveEngine; principals: Principals };

const NO_PRINCIPALS: Principals = Object.freeze({ groups: [], roles: [] }) as Principals;
const SPECIAL_PERMISSIONS = new Set(["_any", "_admin"]);

/**
 * Ranger PDP's four operations (`RangerPdpREST` over `RangerEmbeddedAuthorizer`) on Gatehouse's
 * live engines: the caller check and delegation rule first, then Ranger's request validation,
 * then one engine evaluation per permission (and per sub-resource), with the row filter and data
 * mask where the service-def supports them. Decisions go through the decision API's own
 * `finish` (same engines, same counting, same decision log); nothing here decides by itself.
 * Every operation answers synchronously when the engine and the user are cached.
 */
export function createPdpAuthorizer(runtime: DecisionRuntime, delegation: Delegation) {
  const { evaluateCounted } = createDecider(runtime);

  const engineOf = async (service: string): Promise<LiveEngine> => {
    try {
      return await runtime.engines.get(service);
    } catch (err) {
      if (err instanceof AppError && err.status === 404) throw authzError("SERVICE_NOT_FOUND", service);
      throw err;
    }
  };

  /** The engine and principals, synchronously when both are cached. */
  const prepare = (service: string, user: UserInfo | null): Answer<Ready> => {
    const live = runtime.engines.peek(service);
    const principals = user === null ? NO_PRINCIPALS : live ? cachedPrincipals(user) : undefined;
    if (live && principals) return { live, principals };
    return (async () => ({
      live: live ?? (await engineOf(service)),
      principals: user === null ? NO_PRINCIPALS : await loadedPrincipals(user),
    }))();
  };

  const cachedPrincipals = (user: UserInfo): Principals | undefined => {
    const input = principalInput(user);
    try {
      return principalsCached(runtime.principals, input, "body.user");
    } catch (err) {
      if (err instanceof AppError && err.code === DecisionUserUnknown.code) return unknownUser(input);
      throw err;
    }
  };

  const loadedPrincipals = async (user: UserInfo): Promise<Principals> => {
    const input = principalInput(user);
    try {
      return await principalsFor(runtime.principals, input, "body.user");
    } catch (err) {
      if (err instanceof AppError && err.code === DecisionUserUnknown.code) return unknownUser(input);
      throw err;
    }
  };

  /**
   * One access of one user (`RangerAuthzPlugin.authorize`). `base` holds the engine request fields
   * the request's context and user give (`requestExtras`), the same for each of its accesses.
   */
  const authorizeAccess = (
    { live, principals }: Ready,
    user: UserInfo,
    access: AccessInfo,
    context: AccessContext,
    ctx: PdpContext,
    requestId: string | null | undefined,
    base: Extras | undefined,
  ): AuthzResult => {
    const resource = access.resource as ResourceInfo;
    const elements = parseResourceName(live.def, resource.name as string);
    const extra = resourceExtras(base, resource, elements);
    const opts = extra === undefined ? NO_EXTRAS : { extra };
    const kinds = policyKinds(live);
    const known = permissionsOf(live.def);
    const subResources = resource.subResources;
    const additionalInfo = context.additionalInfo;
    const permissions: Record<string, PermissionResult> = {};
    let hasDeny = false;
    let hasAllow = false;
    let hasNotDetermined = false;
    for (const permission of access.permissions ?? []) {
      // a permission the service-def does not define is a 400, not a silent denial
      if (!known.has(permission)) throw authzError("PERMISSION_NOT_FOUND", permission);
      const input: DecisionInput = { user: user.name as string, resource: elements, accessType: permission };
      if (access.action) input.action = access.action;
      // a copy per permission, as Ranger's (the engine may add to a request's context)
      if (additionalInfo) input.context = { ...additionalInfo };
      const result: PermissionResult = { permission };
      evaluate(live, input, principals, ctx, kinds, opts, result);
      if (subResources && subResources.length > 0) {
        // the top-level access is derived from the sub-resources (RangerAuthzPlugin)
        const derived: AccessResult = {};
        const subs: Record<string, ResultInfo> = {};
        for (const sub of subResources) {
          const subElements = withSubResource(live.def, elements, sub);
          const subExtra = extra?.resource
            ? { ...extra, resource: { ...extra.resource, elements: subElements } }
            : extra;
          const subResult: ResultInfo = {};
          const subOpts = subExtra === undefined ? NO_EXTRAS : { extra: subExtra };
          evaluate(live, { ...input, resource: subElements }, principals, ctx, kinds, subOpts, subResult);
          foldInto(subResult.access, derived);
          subs[sub] = subResult;
        }
        result.access = derived;
        result.subResources = subs;
      }
      if (result.access?.decision === "DENY") {
        delete result.dataMask;
        delete result.rowFilter;
      }
      permissions[permission] = result;
      const decision = result.access?.decision ?? "NOT_DETERMINED";
      if (decision === "DENY") hasDeny = true;
      else if (decision === "ALLOW") hasAllow = true;
      else hasNotDetermined = true;
    }
    const out: AuthzResult = {};
    if (requestId) out.requestId = requestId;
    if (hasDeny) out.decision = "DENY";
    else if (hasNotDetermined) out.decision = "NOT_DETERMINED";
    else if (hasAllow) out.decision = "ALLOW";
    out.permissions = permissions;
    return out;
  };

  /**
   * One permission on one resource, into `info`: access, then the row filter and mask where the
   * service (or its tag service) has such policies and the def supports them for these keys.
   */
  const evaluate = (
    live: LiveEngine,
    input: DecisionInput,
    principals: Principals,
    ctx: PdpContext,
    kinds: PolicyKinds,
    opts: { extra?: Extras },
    info: ResultInfo,
  ): void => {
    const out = evaluateCounted(live, input, principals, ctx, "body.resource", true, undefined, opts);
    info.access = { decision: decisionOf(out), policy: policyOf(live, out) };
    if (!kinds.rowFilter && !kinds.mask) return;
    const keys = Object.keys(input.resource);
    const applied = { extra: opts.extra, onlyApplied: true };
    if (kinds.rowFilter && supports(live, 2, keys)) {
      const rf = evaluateCounted(
        live,
        { ...input, policyType: "rowfilter" },
        principals,
        ctx,
        "body.resource",
        false,
        undefined,
        applied,
      );
      if (rf.isAccessDetermined && rf.filterExpr?.trim()) {
        info.rowFilter = { filterExpr: rf.filterExpr, policy: policyOf(live, rf) };
      }
    }
    if (kinds.mask && supports(live, 1, keys)) {
      const dm = evaluateCounted(
        live,
        { ...input, policyType: "datamask" },
        principals,
        ctx,
        "body.resource",
        false,
        undefined,
        applied,
      );
      if (dm.isAccessDetermined && dm.maskType?.trim()) {
        info.dataMask = { maskType: dm.maskType, policy: policyOf(live, dm) };
        if (dm.maskedValue !== undefined) info.dataMask.maskedValue = dm.maskedValue;
      }
    }
  };

  /** `POST /authz/v1/authorize`. */
  const authorize = (body: AuthzRequest, ctx: PdpContext): Answer<AuthzResult> => {
    const service = body.context?.serviceName;
    const user = checkCaller(ctx.caller, body.user, [body.access ?? null], service, delegation);
    checkAccess(body.access);
    const context = checkContext(body.context);
    const ready = prepare(context.serviceName as string, user);
    const base = requestExtras(context, user);
    const run = (r: Ready) => authorizeAccess(r, user, body.access as AccessInfo, context, ctx, body.requestId, base);
    return ready instanceof Promise ? ready.then(run) : run(ready);
  };

  /** `POST /authz/v1/authorizeMulti`: each access decided, the whole aggregated as Ranger does. */
  const authorizeMulti = (body: MultiAuthzRequest, ctx: PdpContext): Answer<MultiAuthzResult> => {
    const service = body.context?.serviceName;
    const user = checkCaller(ctx.caller, body.user, body.accesses ?? [], service, delegation);
    const accesses = body.accesses ?? [];
    if (accesses.length === 0) throw authzError("ACCESS_INFO_MISSING");
    for (const access of accesses) checkAccess(access);
    const context = checkContext(body.context);
    const base = requestExtras(context, user);
    const run = (r: Ready): MultiAuthzResult => {
      const results: AuthzResult[] = new Array(accesses.length);
      let allowed = 0;
      let denied = 0;
      let undetermined = 0;
      for (let i = 0; i < accesses.length; i++) {
        const result = authorizeAccess(r, user, accesses[i] as AccessInfo, context, ctx, null, base);
        if (result.decision === "ALLOW") allowed++;
        else if (result.decision === "DENY") denied++;
        else if (result.decision === "NOT_DETERMINED") undetermined++;
        results[i] = result;
      }
      const out: MultiAuthzResult = {};
      if (body.requestId) out.requestId = body.requestId;
      out.decision = aggregate(accesses.length, allowed, denied, undetermined);
      out.accesses = results;
      return out;
    };
    const ready = prepare(context.serviceName as string, user);
    return ready instanceof Promise ? ready.then(run) : run(ready);
  };

  /** `POST /authz/v1/permissions`: the resource's ACLs by user, group and role; delegates only. */
  const permissions = async (body: ResourcePermissionsRequest, ctx: PdpContext): Promise<ResourcePermissions> => {
    checkDelegate(ctx.caller, body.context?.serviceName, delegation);
    checkResource(body.resource);
    const context = checkContext(body.context);
    const { live } = await prepare(context.serviceName as string, null);
    const resource = body.resource as ResourceInfo;
    const elements = parseResourceName(live.def, resource.name as string);
    const acls = live.engine.getResourceACLs({ resource: { elements } });
    const out: ResourcePermissions = { resource: compact(resource) };
    const users = principalPermissions(live, acls.userACLs);
    const groups = principalPermissions(live, acls.groupACLs);
    const roles = principalPermissions(live, acls.roleACLs);
    if (users) out.users = users;
    if (groups) out.groups = groups;
    if (roles) out.roles = roles;
    return out;
  };

  /** `POST /authz/v1/filterResources` (RANGER-5784): the resources the user holds every permission on. */
  const filterResources = async (body: FilterResourcesRequest, ctx: PdpContext): Promise<FilterResourcesResult> => {
    checkDelegate(ctx.caller, body.context?.serviceName, delegation);
    if (!body.user?.name?.trim()) throw authzError("USER_INFO_MISSING");
    const user = body.user;
    const resources = body.resources ?? [];
    if (resources.length === 0) throw authzError("RESOURCE_INFO_MISSING");
    for (const resource of resources) checkResource(resource);
    if ((body.permissions ?? []).length === 0) throw authzError("PERMISSIONS_EMPTY");
    const context = checkContext(body.context);
    const ready = await prepare(context.serviceName as string, user);
    const kept: ResourceInfo[] = [];
    const base = requestExtras(context, user);
    for (const resource of resources) {
      const access: AccessInfo = { resource, permissions: body.permissions ?? null, action: body.action ?? null };
      if (authorizeAccess(ready, user, access, context, ctx, null, base).decision === "ALLOW") kept.push(resource);
    }
    const out: FilterResourcesResult = {};
    if (body.requestId) out.requestId = body.requestId;
    if (kept.length > 0) out.resources = kept.map(compact);
    return out;
  };

  return { authorize, authorizeMulti, permissions, filterResources };
}

/** `RangerPdpREST.validateCaller` for a request about `user`: 401, then 400, then 403. */
function checkCaller(
  caller: string,
  user: UserInfo | null | undefined,
  accesses: readonly (AccessInfo | null)[],
  service: string | null | undefined,
  delegation: Delegation,
): UserInfo {
  if (caller.trim() === "") throw Unauthenticated("Authentication required");
  if (!user?.name?.trim()) throw ValidationFailed(USER_INFO_MISSING_MESSAGE);
  if (needsDelegation(caller, user, accesses) && !delegation.isDelegate(service, caller)) {
    throw Forbidden(`${caller} is not authorized`);
  }
  return user;
}

/** `validateCaller(caller, serviceName)`: the operations only delegates may call. */
function checkDelegate(caller: string, service: string | null | undefined, delegation: Delegation): void {
  if (caller.trim() === "") throw Unauthenticated("Authentication required");
  if (!delegation.isDelegate(service, caller)) throw Forbidden(`${caller} is not authorized`);
}

/** `RangerAuthorizer.validateAccessInfo`. */
function checkAccess(access: AccessInfo | null | undefined): void {
  if (!access) throw authzError("ACCESS_INFO_MISSING");
  checkResource(access.resource);
  if ((access.permissions ?? []).length === 0) throw authzError("PERMISSIONS_EMPTY");
}

/** `RangerAuthorizer.validateResourceInfo`, plus the scope Ranger 2.9 no longer has. */
function checkResource(resource: ResourceInfo | null | undefined): void {
  if (!resource) throw authzError("RESOURCE_INFO_MISSING");
  if (!resource.name) throw authzError("RESOURCE_NAME_MISSING");
  const scope = resource.nameMatchScope;
  if ((resource.subResources ?? []).length > 0 && scope && scope !== "SELF") {
    throw authzError("NAME_MATCH_SCOPE_INVALID", scope);
  }
  if (scope === "SELF_OR_ANY_CHILD") {
    // Ranger never implemented it and removed it (RANGER-5784)
    throw authzError("NAME_MATCH_SCOPE_INVALID", scope, resource.name, "SELF, SELF_OR_ANY_DESCENDANT");
  }
}

/** `validateAccessContext` of the embedded authorizer: the service must be named. */
function checkContext(context: AccessContext | null | undefined): AccessContext {
  if (!context) throw authzError("ACCESS_CONTEXT_MISSING");
  if (!context.serviceName?.trim()) {
    if (!context.serviceType?.trim()) throw authzError("SERVICE_NAME_OR_TYPE_MANDATORY");
    // Gatehouse keeps no default service per service type
    throw noDefaultServiceError(context.serviceType);
  }
  return context;
}

const permissionsByDef = new WeakMap<RangerServiceDef, ReadonlySet<string>>();

/** The permissions a PDP request may name in a service of `def`: its access types, markers and Ranger's specials. */
function permissionsOf(def: RangerServiceDef): ReadonlySet<string> {
  let known = permissionsByDef.get(def);
  if (known === undefined) {
    const names = new Set(SPECIAL_PERMISSIONS);
    for (const a of def.accessTypes ?? []) names.add(a.name);
    for (const a of def.markerAccessTypes ?? []) names.add(a.name);
    known = names;
    permissionsByDef.set(def, known);
  }
  return known;
}

/** Engine request fields the decision API does not take. */
type Extras = Partial<RangerAccessRequest>;
const NO_EXTRAS: { extra?: Extras } = Object.freeze({});

/**
 * Engine request fields from the request's context and user, the same for each of its accesses:
 * what the context says of the client and cluster, and the user's attributes. Only what the
 * request gives: the common request then reaches the engine exactly as a native decision does
 * (the caller's address stands in for a missing `clientIpAddress`).
 */
function requestExtras(context: AccessContext, user: UserInfo): Extras | undefined {
  // the common request gives none of them: no object
  if (!(context.clientIpAddress || context.accessTime || context.forwardedIpAddresses)) {
    if (!context.additionalInfo && !user.attributes) return undefined;
  }
  const extra: Extras = {};
  let given = false;
  if (context.clientIpAddress) {
    extra.clientIPAddress = context.clientIpAddress;
    given = true;
  }
  if (context.accessTime && context.accessTime > 0) {
    extra.accessTime = context.accessTime;
    given = true;
  }
  if (context.forwardedIpAddresses) {
    extra.forwardedAddresses = context.forwardedIpAddresses;
    given = true;
  }
  const info = context.additionalInfo;
  if (info) {
    for (const key of CONTEXT_FIELDS) {
      if (info[key] === undefined) continue;
      extra[key] = String(info[key]);
      given = true;
    }
  }
  if (user.attributes && Object.keys(user.attributes).length > 0) {
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(user.attributes)) attributes[k] = String(v);
    extra.userStore = { userAttributes: { [user.name as string]: attributes } };
    given = true;
  }
  return given ? extra : undefined;
}

/** Fields of `additionalInfo` the engine request takes as they are named. */
const CONTEXT_FIELDS = ["clientType", "clusterName", "clusterType", "requestData"] as const;

/** `base` with what one access's resource adds: its owner (`OWNER` attribute) and match scope. */
function resourceExtras(
  base: Extras | undefined,
  resource: ResourceInfo,
  elements: Record<string, string>,
): Extras | undefined {
  const owner = resource.attributes?.OWNER;
  const descendants = resource.nameMatchScope === "SELF_OR_ANY_DESCENDANT";
  if ((owner === undefined || owner === null) && !descendants) return base;
  const extra: Extras = { ...base };
  if (owner !== undefined && owner !== null) extra.resource = { elements, ownerUser: String(owner) };
  if (descendants) extra.resourceMatchingScope = "SELF_OR_DESCENDANTS";
  return extra;
}

/** Groups and roles as given (empty lists count as not given), for the directory lookup. */
function principalInput(user: UserInfo) {
  return {
    user: user.name as string,
    groups: user.groups && user.groups.length > 0 ? user.groups : undefined,
    roles: user.roles && user.roles.length > 0 ? user.roles : undefined,
  };
}

/** A user the directory does not know is decided with what the request gives, as Ranger does. */
function unknownUser(input: { groups?: string[] | undefined; roles?: string[] | undefined }): Principals {
  return { groups: input.groups ?? [], roles: input.roles ?? [] };
}

/** Whether the def's hierarchies of `policyType` include exactly these resource keys. */
function supports(live: LiveEngine, policyType: 1 | 2, keys: string[]): boolean {
  const hierarchies = live.engine.serviceDef.hierarchiesByType[policyType] ?? [];
  return hierarchies.some((h) => h.length === keys.length && h.every((r) => keys.includes(r.name)));
}

function decisionOf(res: RangerAccessResult): Decision {
  if (!res.isAccessDetermined) return "NOT_DETERMINED";
  return res.isAllowed ? "ALLOW" : "DENY";
}

function policyOf(live: LiveEngine, res: RangerAccessResult): PolicyInfo {
  const version = policyVersionOf(live, res);
  return version === null ? { id: res.policyId } : { id: res.policyId, version };
}

/**
 * `RangerAuthzPlugin.updateResult`: the first sub-resource sets the decision; a later DENY or
 * NOT_DETERMINED replaces an ALLOW, and nothing replaces a DENY.
 */
function foldInto(from: AccessResult | undefined, to: AccessResult): void {
  if (!from?.decision || to.decision === from.decision || to.decision === "DENY") return;
  if (to.decision === undefined || from.decision === "DENY" || from.decision === "NOT_DETERMINED") {
    to.decision = from.decision;
    if (from.policy) to.policy = from.policy;
    else delete to.policy;
  }
}

/** `RangerEmbeddedAuthorizer`'s aggregate of a multi-request. */
function aggregate(total: number, allowed: number, denied: number, undetermined: number): Decision {
  if (allowed === total) return "ALLOW";
  if (denied === total) return "DENY";
  if (undetermined === total) return "NOT_DETERMINED";
  return "PARTIAL";
}

/** `toAccessResult(RangerResourceACLs.AccessResult)`: conditional counts as DENY, as Ranger's TODO says. */
function aclPermissions(live: LiveEngine, byAccess: Record<string, AclAccessResult>): Record<string, PermissionResult> {
  const out: Record<string, PermissionResult> = {};
  for (const [permission, acl] of Object.entries(byAccess)) {
    const decision: Decision = !acl.isFinal
      ? "NOT_DETERMINED"
      : acl.result === 1
        ? "ALLOW"
        : acl.result === -1 || acl.result === 2
          ? "DENY"
          : "NOT_DETERMINED";
    const access: AccessResult = { decision };
    if (acl.policy) {
      const version = live.policies.get(acl.policy.id)?.version;
      access.policy = version === undefined ? { id: acl.policy.id } : { id: acl.policy.id, version };
    }
    out[permission] = { permission, access };
  }
  return out;
}

function principalPermissions(
  live: LiveEngine,
  acls: AclPermissions,
): Record<string, Record<string, PermissionResult>> | undefined {
  const names = Object.keys(acls);
  if (names.length === 0) return undefined;
  const out: Record<string, Record<string, PermissionResult>> = {};
  for (const name of names) out[name] = aclPermissions(live, acls[name] as Record<string, AclAccessResult>);
  return out;
}

/** A resource as Ranger echoes it: null and empty fields left out. */
function compact(resource: ResourceInfo): NonNullable<ResourcePermissions["resource"]> {
  const out: NonNullable<ResourcePermissions["resource"]> = {};
  if (resource.name) out.name = resource.name;
  if (resource.subResources && resource.subResources.length > 0) out.subResources = resource.subResources;
  if (resource.nameMatchScope) out.nameMatchScope = resource.nameMatchScope;
  if (resource.attributes && Object.keys(resource.attributes).length > 0) out.attributes = resource.attributes;
  return out;
}
