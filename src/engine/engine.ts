import { computeResourceACLs } from "./acls.ts";
import { AuditFilterEvaluator, parseAuditFilters } from "./audit-filter.ts";
import { conditionFactory } from "./conditions/factory.ts";
import { type GeoTable, geoAttributes, parseGeoTable } from "./conditions/geo.ts";
import { type Explanation, explainRequest } from "./explain.ts";
import type { ExpressionEnv } from "./expression/index.ts";
import { compileTemplate, resolveTemplate } from "./expression/index.ts";
import type { MatchEnv } from "./match/element-matcher.ts";
import { type MatchType, PolicyResourceMatcher } from "./match/policy-resource-matcher.ts";
import type { WorkBudget } from "./match/work-budget.ts";
import { buildRoleIndex, type RoleIndex, rolesFor } from "./model/roles.ts";
import { type PreparedServiceDef, prepareServiceDef } from "./model/service-def.ts";
import { TagStore } from "./model/service-tags.ts";
import { applyInlinePolicy } from "./policy/inline.ts";
import type { ItemEvaluator } from "./policy/item-evaluator.ts";
import { compareByName, MATCH_TYPE_RANK } from "./policy/order.ts";
import { type CompileContext, compareEvalOrder, PolicyEvaluator } from "./policy/policy-evaluator.ts";
import { PrincipalBits } from "./policy/principal-bits.ts";
import { principalRows, ROW_AUDITED, ROW_SKIPPABLE } from "./policy/principal-rows.ts";
import { AccessTypeResults, type RequestState } from "./policy/request-state.ts";
import { copyAccess, copyAudit, newResult, setAudited } from "./policy/result.ts";
import { decideSimple } from "./policy/simple-grants.ts";
import { OverlayPolicyRepository } from "./repository/overlay-repository.ts";
import { PolicyRepository } from "./repository/policy-repository.ts";
import { compileSchedules, isScheduleApplicable } from "./schedule/index.ts";
import type {
  EngineInput,
  RangerAccessRequest,
  RangerAccessResult,
  RangerInlinePolicy,
  RangerPolicy,
  RangerPolicyDelta,
  RangerRole,
  RangerTagForEval,
  RangerValiditySchedule,
  ResourceACLs,
  SecurityZoneInfo,
  ServiceTags,
} from "./types.ts";

/**
 * The policy decision engine: Ranger's `RangerPolicyEngineImpl` semantics over immutable,
 * precompiled repositories (default, per security zone, and tags). Every public method is
 * synchronous and pure with respect to its inputs; nothing here does I/O.
 */

/** Knobs Ranger takes from plugin configuration rather than from policy data. */
export interface EngineOptions {
  /** Use `forwardedAddresses` to find the client IP (Ranger `use.x-forwarded-for.ipaddress`). */
  useForwardedIPAddress?: boolean;
  /** Proxies whose forwarded address is trusted (Ranger `trusted.proxy.ipaddresses`). */
  trustedProxyAddresses?: readonly string[];
  /** Leave "nothing matched" undetermined so the host can fall back (HDFS). */
  isFallbackSupported?: boolean;
  /** Zone used where Ranger uses the JVM default time zone (schedules); default "UTC". */
  defaultTimeZone?: string;
}

/** Users and groups allowed or denied an access on a resource (Ranger's `RangerResourceAccessInfo`). */
export interface ResourceAccessInfo {
  allowedUsers: string[];
  allowedGroups: string[];
  deniedUsers: string[];
  deniedGroups: string[];
}

const EMPTY_CONTEXT: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
const EMPTY_ROLES: ReadonlySet<string> = new Set();
const NO_GROUPS: readonly string[] = Object.freeze([]) as readonly string[];
const SUPER_USER_ACCESS = "_super_user";

interface Zone {
  readonly name: string;
  readonly matchers: readonly PolicyResourceMatcher[];
  readonly repo: PolicyRepository;
}

function splitList(v: string | undefined): string[] {
  if (!v) return [];
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export class PolicyEngine {
  readonly serviceDef: PreparedServiceDef;
  readonly serviceName: string | undefined;
  policyVersion: number | undefined;
  private input: EngineInput;
  private readonly options: EngineOptions;
  private readonly ctx: CompileContext;
  /** principal bits of every repository's policies (policy/principal-bits.ts) */
  readonly principalBits = new PrincipalBits();
  private repo: PolicyRepository;
  private readonly zones: Map<string, Zone> = new Map();
  private tagRepo: PolicyRepository | null;
  private readonly tagStore: TagStore;
  private readonly roles: RoleIndex;
  private readonly superUsers: ReadonlySet<string>;
  private readonly superGroups: ReadonlySet<string>;
  private readonly auditExcludedUsers: ReadonlySet<string>;
  private readonly auditExcludedGroups: ReadonlySet<string>;
  private readonly auditExcludedRoles: ReadonlySet<string>;
  private readonly auditMode: string;
  private readonly auditFilters: readonly AuditFilterEvaluator[];
  private readonly tagAuditFilters: readonly AuditFilterEvaluator[];
  private readonly geo: readonly { table: GeoTable; prefix: string }[];
  private readonly allAccessTypes: readonly string[];
  /** `[t]` for every known access type t (and `_admin`): the requested list without an array per request */
  private readonly singleAccessTypes = new Map<string, readonly string[]>();
  private readonly isFallbackSupported: boolean;
  /**
   * Whether the service configuration leaves access decisions to the policies alone (audit mode
   * "audit-default", no audit filters or exclusions, no geo enrichment): the precondition of the
   * simple-grant fast path (`decideFast`), checked once instead of per request.
   */
  private readonly fastConfig: boolean;
  /** access types the fast path takes as they come: the service's lower-case names, without markers */
  private readonly fastAccessTypes = new Set<string>();
  private readonly templateCache = new Map<string, ReturnType<typeof compileTemplate> | null>();

  constructor(input: EngineInput, options: EngineOptions = {}) {
    this.input = input;
    this.options = options;
    this.serviceName = input.serviceName;
    this.policyVersion = input.policyVersion;
    this.serviceDef = prepareServiceDef(input.serviceDef);
    const sd = this.serviceDef;
    const tz = options.defaultTimeZone ?? input.timeZone ?? "UTC";
    const services = { expressionEnv: (s: RequestState) => this.expressionEnv(s) };
    const principalBits = this.principalBits;
    const makeCtx = (prepared: PreparedServiceDef, component: string | null): CompileContext => {
      const factory = conditionFactory(prepared.raw, services);
      return {
        serviceDef: prepared,
        createCondition: (c) => factory(c),
        normalizeAccess: component
          ? (t) => {
              const i = t.indexOf(":");
              if (i < 0) return t;
              return t.slice(0, i) === component ? t.slice(i + 1) : null;
            }
          : (t) => t,
        createSchedule: (schedules) => scheduleFn(schedules, tz),
        principalBits,
      };
    };
    this.ctx = makeCtx(sd, null);
    this.repo = new PolicyRepository(input.policies ?? [], this.ctx);
    for (const [name, info] of Object.entries(input.securityZones ?? {})) this.addZone(name, info);
    if (input.tagPolicies?.serviceDef) {
      const tagSd = prepareServiceDef(input.tagPolicies.serviceDef, sd.name);
      this.tagRepo = new PolicyRepository(input.tagPolicies.policies ?? [], makeCtx(tagSd, sd.name));
    } else this.tagRepo = null;
    this.tagStore = new TagStore(input.serviceTags, sd);
    this.roles = buildRoleIndex(input.roles);
    const cfg = input.serviceConfig ?? {};
    const raw = cfg.raw ?? {};
    this.superUsers = new Set([...(cfg.superUsers ?? []), ...splitList(raw["ranger.plugin.super.users"])]);
    this.superGroups = new Set([...(cfg.superGroups ?? []), ...splitList(raw["ranger.plugin.super.groups"])]);
    this.auditExcludedUsers = new Set([
      ...(cfg.auditExcludedUsers ?? []),
      ...splitList(raw["ranger.plugin.audit.exclude.users"]),
    ]);
    this.auditExcludedGroups = new Set([
      ...(cfg.auditExcludedGroups ?? []),
      ...splitList(raw["ranger.plugin.audit.exclude.groups"]),
    ]);
    this.auditExcludedRoles = new Set([
      ...(cfg.auditExcludedRoles ?? []),
      ...splitList(raw["ranger.plugin.audit.exclude.roles"]),
    ]);
    this.auditMode = cfg.auditMode ?? "audit-default";
    this.auditFilters = parseAuditFilters(cfg.auditFilters ?? raw["ranger.plugin.audit.filters"]).map(
      (f) => new AuditFilterEvaluator(f, sd),
    );
    const tagCfg = input.tagPolicies?.serviceConfig ?? {};
    this.tagAuditFilters =
      input.tagPolicies?.serviceDef && tagCfg["ranger.plugin.audit.filters"]
        ? parseAuditFilters(tagCfg["ranger.plugin.audit.filters"]).map(
            (f) => new AuditFilterEvaluator(f, prepareServiceDef(input.tagPolicies!.serviceDef, sd.name)),
          )
        : [];
    this.isFallbackSupported = options.isFallbackSupported ?? cfg.isFallbackSupported ?? false;
    this.allAccessTypes = sd.accessTypeNames.map((a) => a.toLowerCase());
    for (const a of [...this.allAccessTypes, ...sd.impliedGrants.keys(), "_admin", SUPER_USER_ACCESS])
      this.singleAccessTypes.set(a, Object.freeze([a]));
    const geo: { table: GeoTable; prefix: string }[] = [];
    for (const e of sd.raw.contextEnrichers ?? []) {
      if (!(e.enricher ?? "").endsWith("GeolocationProvider")) continue;
      const opts = e.enricherOptions ?? {};
      const path = opts.FilePath ?? "";
      const base = path.split("/").pop() ?? "";
      const text = input.geo?.[path] ?? input.geo?.[base] ?? input.geo?.default;
      if (text === undefined) continue;
      const dot = (opts.IPInDotFormat ?? "true").toLowerCase() !== "false";
      geo.push({ table: parseGeoTable(text, dot), prefix: opts["geolocation.meta.prefix"] ?? "" });
    }
    this.geo = geo;
    for (const a of this.allAccessTypes)
      if (a !== "_any" && a !== "_admin" && a !== SUPER_USER_ACCESS) this.fastAccessTypes.add(a);
    this.fastConfig =
      this.auditMode === "audit-default" &&
      this.auditFilters.length === 0 &&
      this.tagAuditFilters.length === 0 &&
      this.auditExcludedUsers.size === 0 &&
      this.auditExcludedGroups.size === 0 &&
      this.auditExcludedRoles.size === 0 &&
      geo.length === 0;
  }

  /**
   * Builds the engine `new PolicyEngine(input, options)` builds, its policies compiled and indexed
   * `slice` per step of the returned generator, which returns the engine
   * (`PolicyRepository.inSlices`): a server's first build of a service of 100,000 policies takes
   * seconds, and must not stop the process from answering decisions on its other services, health
   * checks and the console meanwhile. The caller runs the next step when it chooses.
   */
  static *inSlices(input: EngineInput, options: EngineOptions = {}, slice = 500): Generator<void, PolicyEngine, void> {
    const zones = Object.fromEntries(
      Object.entries(input.securityZones ?? {}).map(([name, info]) => [name, { ...info, policies: [] }]),
    );
    const engine = new PolicyEngine(
      {
        ...input,
        policies: [],
        securityZones: zones,
        ...(input.tagPolicies ? { tagPolicies: { ...input.tagPolicies, policies: [] } } : {}),
      },
      options,
    );
    engine.input = input;
    engine.repo = yield* PolicyRepository.inSlices(input.policies ?? [], engine.ctx, slice);
    for (const [name, info] of Object.entries(input.securityZones ?? {})) {
      const zone = engine.zones.get(name) as Zone;
      const repo = yield* PolicyRepository.inSlices(info.policies ?? [], engine.ctx, slice);
      engine.zones.set(name, { ...zone, repo });
    }
    if (engine.tagRepo)
      engine.tagRepo = yield* PolicyRepository.inSlices(input.tagPolicies?.policies ?? [], engine.tagRepo.ctx, slice);
    return engine;
  }

  /** Zone resources as matchers; values are recursive where the resource supports it (Ranger's zone trie). */
  private zoneMatchers(info: SecurityZoneInfo): PolicyResourceMatcher[] {
    const defs = this.serviceDef.resourcesByType[0];
    return (info.resources ?? []).map((r) => {
      const res: Record<string, { values: string[]; isRecursive: boolean }> = {};
      for (const [k, v] of Object.entries(r))
        res[k] = { values: v, isRecursive: defs.get(k)?.recursiveSupported === true };
      return new PolicyResourceMatcher(this.serviceDef, 0, res);
    });
  }

  private addZone(name: string, info: SecurityZoneInfo): void {
    const matchers = this.zoneMatchers(info);
    const existing = this.zones.get(name);
    const repo = existing?.repo ?? new PolicyRepository(info.policies ?? [], this.ctx);
    this.zones.set(name, { name, matchers, repo });
  }

  // ------------------------------------------------------------------ public API

  /** Access decision plus audit (Ranger `isAccessAllowed` + `evaluateAuditPolicies`). */
  isAccessAllowed(request: RangerAccessRequest): RangerAccessResult {
    if (this.fastConfig) {
      const fast = this.decideFast(request);
      if (fast !== null) return fast;
    }
    const state = this.preProcess(request);
    const res = this.zoneAwareEvaluate(state, 0);
    if (request.inlinePolicy) this.evaluateInlinePolicy(request.inlinePolicy, state, res);
    this.evaluateAuditFilters(state, res);
    return res;
  }

  /**
   * The common access request answered from the simple-grant rows of its index node
   * (policy/simple-grants.ts), without building the request state: one plain access type, no zones,
   * no tags, no inline policy, no super user, no access-type groups, no matching scopes. Null when
   * the request or its candidates need the full evaluation; otherwise exactly its result.
   */
  private decideFast(request: RangerAccessRequest): RangerAccessResult | null {
    const at = request.accessType;
    if (typeof at !== "string" || !this.fastAccessTypes.has(at)) return null;
    if (request.inlinePolicy || this.zones.size > 0) return null;
    if (request.resourceMatchingScope === "SELF_OR_DESCENDANTS") return null;
    const scopes = request.resourceElementMatchingScopes;
    if (scopes) for (const _ in scopes) return null;
    const rc = request.context;
    if (rc !== undefined && rc !== null) {
      if (rc.ALLACCESSTYPES !== undefined || rc.ALLACCESSTYPEGROUPS !== undefined) return null;
      if (this.tagRepo !== null && rc.TAGS !== undefined && rc.TAGS !== null) return null;
    }
    const user = request.user ?? undefined;
    const groups = request.userGroups ?? NO_GROUPS;
    if (user !== undefined && this.superUsers.size > 0 && this.superUsers.has(user)) return null;
    if (this.superGroups.size > 0) for (const g of groups) if (this.superGroups.has(g)) return null;
    if (!this.repo.hasPolicies()) return null;
    const grants = this.repo.accessGrants(request.resource);
    if (grants === undefined) return null;
    // after the rows: a request whose candidates need the full path asks the tag index once, there
    if (this.tagRepo !== null && !this.tagStore.isEmpty && !this.tagStore.surelyUntagged(request.resource)) return null;
    return decideSimple(grants, at, user, groups, request.resource.ownerUser, this.isFallbackSupported);
  }

  /** Ranger's `RangerInlinePolicyEvaluator`, after the service's policies decided. */
  private evaluateInlinePolicy(policy: RangerInlinePolicy, state: RequestState, res: RangerAccessResult): void {
    applyInlinePolicy(policy, this.serviceDef, state, res, (req) => {
      const r = this.zoneAwareEvaluate(this.preProcess(req), 0);
      return r.isAccessDetermined && r.isAllowed;
    });
  }

  /** Data-mask decision for a column request (maskType, maskCondition, maskedValue). */
  evaluateDataMask(request: RangerAccessRequest): RangerAccessResult {
    const state = this.preProcess(request);
    const res = this.zoneAwareEvaluate(state, 1);
    this.evaluateAuditFilters(state, res);
    return res;
  }

  /** Row-filter decision for a table request (filterExpr). */
  evaluateRowFilter(request: RangerAccessRequest): RangerAccessResult {
    const state = this.preProcess(request);
    const res = this.zoneAwareEvaluate(state, 2);
    this.evaluateAuditFilters(state, res);
    return res;
  }

  /**
   * Updates resource tags without touching policies: a Ranger tag delta (`isDelta: true`) is
   * applied in place, at the cost of the resources and tags it names; a full `ServiceTags`
   * document replaces every tag. Answers afterwards are those of an engine built with the
   * resulting tags.
   */
  applyServiceTags(serviceTags: ServiceTags): void {
    this.tagStore.apply(serviceTags);
  }

  /** Incrementally applies policy deltas (create 0, update 1, delete 2); no full rebuild. */
  applyDeltas(
    deltas: readonly RangerPolicyDelta[],
    zones?: Record<string, SecurityZoneInfo>,
    policyVersion?: number,
  ): void {
    for (const [name, info] of Object.entries(zones ?? {})) {
      const z = this.zones.get(name);
      if (!z) this.addZone(name, info);
      else if (info.resources) {
        const fresh = this.zoneMatchers(info);
        this.zones.set(name, { name, matchers: fresh, repo: z.repo });
      }
      for (const d of info.policyDeltas ?? []) this.applyOne(d, name);
    }
    for (const d of deltas) this.applyOne(d, d.policy?.zoneName || undefined);
    if (policyVersion !== undefined) this.policyVersion = policyVersion;
  }

  private applyOne(d: RangerPolicyDelta, zoneName: string | undefined): void {
    if (!d.policy || d.changeType < 0 || d.changeType > 2) return;
    const isTag =
      this.tagRepo && d.policy.serviceType && d.policy.serviceType === this.input.tagPolicies?.serviceDef.name;
    if (isTag) {
      this.tagRepo!.applyDelta(d.changeType, d.policy);
      return;
    }
    const zn = d.policy.zoneName || zoneName;
    if (zn) {
      let z = this.zones.get(zn);
      if (!z) {
        this.addZone(zn, { zoneName: zn, resources: [], policies: [] });
        z = this.zones.get(zn)!;
      }
      z.repo.applyDelta(d.changeType, d.policy);
      return;
    }
    this.repo.applyDelta(d.changeType, d.policy);
  }

  /**
   * An engine that answers as this one would after `deltas` (create 0, update 1, delete 2), without
   * changing this one or rebuilding it: each repository a delta touches becomes a copy-on-write
   * overlay (repository/overlay-repository.ts) holding only the draft's policies and the ids it
   * hides; everything else (service-def, zones' matchers, tags, roles, configuration) is shared.
   * Costs the draft's size. `roles`, when given, replaces the role store (role changes in a draft).
   * Used by policy simulations; decisions go through the same public methods as on any engine.
   */
  withDraft(deltas: readonly RangerPolicyDelta[], roles?: RangerRole[]): PolicyEngine {
    const tagType = this.input.tagPolicies?.serviceDef.name;
    const buckets = new Map<string, { draft: RangerPolicy[]; hidden: Set<number> }>();
    const bucket = (key: string) => {
      let b = buckets.get(key);
      if (!b) {
        b = { draft: [], hidden: new Set() };
        buckets.set(key, b);
      }
      return b;
    };
    const resourceKeys = () => ["", ...this.zones.keys()];
    for (const d of deltas) {
      if (!d.policy || d.changeType < 0 || d.changeType > 2) continue;
      const isTag = this.tagRepo !== null && tagType !== undefined && d.policy.serviceType === tagType;
      const id = d.policy.id;
      if (d.changeType !== 0 && id !== undefined && id !== null) {
        // an updated or deleted policy is hidden wherever it is: a zone move leaves no old copy;
        // an earlier version from this draft goes too (the last change of a policy wins)
        for (const key of isTag ? ["#tag"] : resourceKeys()) bucket(key).hidden.add(id);
        for (const b of buckets.values()) {
          const i = b.draft.findIndex((p) => p.id === id);
          if (i >= 0) b.draft.splice(i, 1);
        }
      }
      if (d.changeType === 2 || d.policy.isEnabled === false) continue;
      bucket(isTag ? "#tag" : d.policy.zoneName || "").draft.push(d.policy);
    }
    const o = Object.create(PolicyEngine.prototype) as PolicyEngine;
    Object.assign(o, this);
    const self = o as unknown as {
      repo: PolicyRepository;
      tagRepo: PolicyRepository | null;
      zones: Map<string, Zone>;
      roles: RoleIndex;
    };
    self.zones = new Map(this.zones);
    for (const [key, b] of buckets) {
      if (key === "#tag") {
        if (this.tagRepo) self.tagRepo = new OverlayPolicyRepository(this.tagRepo, b.draft, b.hidden, this.tagRepo.ctx);
      } else if (key === "") self.repo = new OverlayPolicyRepository(this.repo, b.draft, b.hidden, this.ctx);
      else {
        const z = this.zones.get(key);
        if (z) self.zones.set(key, { ...z, repo: new OverlayPolicyRepository(z.repo, b.draft, b.hidden, this.ctx) });
        else self.zones.set(key, { name: key, matchers: [], repo: new PolicyRepository(b.draft, this.ctx) });
      }
    }
    if (roles !== undefined) self.roles = buildRoleIndex(roles);
    return o;
  }

  /** The repository for a zone (undefined = default), for tooling such as explain and ACLs. */
  repositoryFor(zoneName: string | undefined): PolicyRepository {
    if (zoneName) return this.zones.get(zoneName)?.repo ?? this.repo;
    return this.repo;
  }

  get tagRepository(): PolicyRepository | null {
    return this.tagRepo;
  }

  /**
   * Resource ACLs (Ranger's `getResourceACLs`): users, groups and roles → access type →
   * `{result: -1 denied | 1 allowed | 2 conditional, isFinal, policy}`, plus data-mask and
   * row-filter entries, for the request's resource (its user and access type are ignored).
   * `policyType` limits the answer to access (0), masks (1) or row filters (2).
   */
  getResourceACLs(request: RangerAccessRequest, policyType?: number): ResourceACLs {
    return computeResourceACLs(this, request, policyType);
  }

  /**
   * Explain mode: the decision plus every candidate policy (tag and resource) with whether its
   * resources, schedule, conditions and items matched, and which one decided.
   */
  explain(request: RangerAccessRequest, policyType = 0): Explanation {
    return explainRequest(this, request, policyType);
  }

  /** Names of the security zones whose resources match the request's resource. */
  zoneNamesFor(state: RequestState): string[] {
    return this.matchedZones(state);
  }

  /** Whether a zone uses its own tag policies (`containsAssociatedTagService`). */
  zoneHasTagService(zoneName: string | undefined): boolean {
    return zoneName ? this.input.securityZones?.[zoneName]?.containsAssociatedTagService === true : false;
  }

  /**
   * Who is allowed or denied the request's access on its resource, per matching policy item
   * (Ranger's `getResourceAccessInfo`; item conditions are evaluated against this request).
   */
  getResourceAccessInfo(request: RangerAccessRequest): ResourceAccessInfo {
    const state = this.preProcess(request);
    const out: ResourceAccessInfo = { allowedUsers: [], allowedGroups: [], deniedUsers: [], deniedGroups: [] };
    const au = new Set<string>();
    const ag = new Set<string>();
    const du = new Set<string>();
    const dg = new Set<string>();
    const collect = (ev: PolicyEvaluator, s: RequestState, tagMatch?: MatchType) => {
      const mt = tagMatch ?? ev.matchType(s);
      if (!PolicyEvaluator.isMatchTypeAccepted(mt, s, tagMatch !== undefined)) return;
      if (!ev.policyConditionsMatch(s)) return;
      const gather = (
        items: readonly ItemEvaluator[],
        exceptions: readonly ItemEvaluator[],
        users: Set<string>,
        groups: Set<string>,
      ) => {
        const u = new Set<string>();
        const g = new Set<string>();
        for (const it of items)
          if (it.matchesAccess(s.accessType) && it.matchesConditions(s)) {
            for (const x of it.item.users ?? []) u.add(x);
            for (const x of it.item.groups ?? []) g.add(x);
          }
        if (u.size === 0 && g.size === 0) return;
        for (const it of exceptions)
          if (it.matchesAccess(s.accessType) && it.matchesConditions(s)) {
            for (const x of it.item.users ?? []) u.delete(x);
            for (const x of it.item.groups ?? []) g.delete(x);
          }
        for (const x of u) users.add(x);
        for (const x of g) groups.add(x);
      };
      gather(ev.denyItems, ev.denyExceptions, du, dg);
      gather(ev.allowItems, ev.allowExceptions, au, ag);
    };
    if (this.tagRepo && state.tags) {
      for (const tag of state.tags) {
        const ts = this.tagState(state, tag);
        for (const ev of this.tagRepo.candidates(ts, 0).evaluators)
          collect(ev, ts, (tag.matchType ?? "SELF") as MatchType);
      }
    }
    const zones = this.matchedZones(state);
    const repos = zones.length === 0 ? [this.repo] : zones.map((z) => this.zones.get(z)!.repo);
    for (const repo of repos) for (const ev of repo.candidates(state, 0).evaluators) collect(ev, state);
    for (const x of du) au.delete(x);
    for (const x of dg) ag.delete(x);
    out.allowedUsers = [...au];
    out.allowedGroups = [...ag];
    out.deniedUsers = [...du];
    out.deniedGroups = [...dg];
    return out;
  }

  // ------------------------------------------------------------------ request pre-processing

  /** Ranger's `RangerDefaultRequestProcessor#preProcess`, producing the shared request state. */
  preProcess(request: RangerAccessRequest, policyType = 0): RequestState {
    const rawType = request.accessType;
    const accessType = rawType === undefined || rawType === null || rawType === "" ? "_any" : rawType.toLowerCase();
    const isAny = accessType === "_any";
    const rc = request.context;
    let requested: readonly string[];
    const ctxAll = rc?.ALLACCESSTYPES;
    if (Array.isArray(ctxAll) && ctxAll.length > 0) requested = ctxAll.map((a) => String(a).toLowerCase());
    else if (isAny) requested = this.allAccessTypes;
    else requested = this.singleAccessTypes.get(accessType) ?? [accessType];
    const ignoreDescendantDeny = request.isDescendantDenyIgnored !== false;
    let groupsSpec: string[][] | undefined;
    const ctxGroups = rc?.ALLACCESSTYPEGROUPS;
    if (Array.isArray(ctxGroups) && ctxGroups.length > 0)
      groupsSpec = ctxGroups.map((g) => (g as string[]).map((a) => String(a).toLowerCase()));
    else if (isAny && !ignoreDescendantDeny) groupsSpec = this.allAccessTypes.map((a) => [a]);

    let clientIP = request.clientIPAddress;
    if (this.options.useForwardedIPAddress) {
      const ip = request.remoteIPAddress ?? request.clientIPAddress;
      let newIp = ip;
      const fwd = request.forwardedAddresses ?? [];
      if (fwd.length > 0) {
        const trusted = this.options.trustedProxyAddresses ?? [];
        if (trusted.length === 0) newIp = fwd[0];
        else if (ip !== undefined && trusted.includes(ip)) newIp = fwd[fwd.length - 1];
      }
      clientIP = newIp;
    }
    let req = request;
    if (clientIP !== request.clientIPAddress) req = { ...request, clientIPAddress: clientIP };

    let context = rc ?? EMPTY_CONTEXT;
    if (this.geo.length > 0) {
      context = { ...context };
      for (const g of this.geo) Object.assign(context, geoAttributes(g.table, clientIP, g.prefix));
    }
    const descendantsCount = isAny || request.resourceMatchingScope === "SELF_OR_DESCENDANTS";
    const state = new EngineRequestState(
      this,
      req,
      accessType,
      isAny,
      requested,
      isAny || (Array.isArray(ctxAll) && ctxAll.length > 0),
      descendantsCount,
      ignoreDescendantDeny,
      context,
      groupsSpec,
    );
    const tags = this.requestTags(state, policyType);
    if (tags) state.tags = tags;
    return state;
  }

  /** The user's roles for a request (Ranger's user-store lookup), on first use by a request state. */
  rolesOf(request: RangerAccessRequest, groups: readonly string[]): ReadonlySet<string> {
    if (request.userRoles && request.userRoles.length > 0) return new Set(request.userRoles);
    if (this.roles.isEmpty) return EMPTY_ROLES;
    return rolesFor(this.roles, request.user, groups);
  }

  private matchEnv(state: RequestState): MatchEnv {
    return new RequestEnv(this, state);
  }

  /** Resolves `${{…}}` templates in a policy value for one request (null when it cannot). */
  resolveText(text: string, state: RequestState): string | null {
    let t = this.templateCache.get(text);
    if (t === undefined) {
      try {
        t = compileTemplate(text);
      } catch {
        t = null;
      }
      this.templateCache.set(text, t);
    }
    if (t === null) return null;
    try {
      return resolveTemplate(t, this.expressionEnv(state));
    } catch {
      return null;
    }
  }

  private requestTags(state: RequestState, _policyType: number): RangerTagForEval[] | undefined {
    const raw = state.context.TAGS;
    if (raw !== undefined && raw !== null) {
      let list: unknown = raw;
      if (typeof raw === "string") {
        try {
          list = parseTagsJson(raw);
        } catch {
          list = [];
        }
      }
      if (Array.isArray(list))
        return (list as RangerTagForEval[]).map((t) => ({ ...t, matchType: t.matchType ?? "SELF" }));
      return undefined;
    }
    if (this.tagStore.isEmpty) return undefined;
    const scopes = state.request.resourceElementMatchingScopes;
    if (
      !state.descendantsCount &&
      (scopes === undefined || scopes === null) &&
      this.tagStore.surelyUntagged(state.request.resource)
    )
      return undefined;
    return this.tagStore.tagsFor(
      state.request.resource,
      state.descendantsCount,
      state.request.resourceElementMatchingScopes,
    );
  }

  /** The expression view of a request (built per request, shared by its conditions). */
  expressionEnv(state: RequestState): ExpressionEnv {
    const holder = state as { _exprEnv?: ExpressionEnv };
    let base = holder._exprEnv;
    if (!base) {
      base = {
        user: state.user,
        userGroups: state.groups,
        userRoles: [...state.roles()],
        userAttributes: state.request.userStore?.userAttributes?.[state.user ?? ""],
        groupAttributes: state.request.userStore?.groupAttributes,
        accessType: state.request.accessType ?? "",
        action: state.request.action,
        accessTime: state.accessTime,
        clientIPAddress: state.request.clientIPAddress,
        remoteIPAddress: state.request.remoteIPAddress,
        forwardedAddresses: state.request.forwardedAddresses,
        clientType: state.request.clientType,
        clusterName: state.request.clusterName,
        clusterType: state.request.clusterType,
        requestData: state.request.requestData,
        sessionId: state.request.sessionId,
        resource: state.request.resource.elements,
        resourceOwner: state.request.resource.ownerUser,
        resourceMatchingScope: state.request.resourceMatchingScope,
        context: state.context,
        tags: state.tags,
        isAccessTypeAny: state.isAnyAccess,
        isAccessTypeDelegatedAdmin: state.accessType === "_admin",
      };
      holder._exprEnv = base;
    }
    if (state.tag) return { ...base, currentTag: state.tag, tags: state.tags };
    return base;
  }

  // ------------------------------------------------------------------ evaluation

  private matchedZones(state: RequestState): string[] {
    if (this.zones.size === 0) return NO_ZONES;
    const out: string[] = [];
    for (const z of this.zones.values()) {
      for (const m of z.matchers) {
        const mt = m.getMatchType(state.request.resource, undefined, state.env);
        if (mt !== "NONE") {
          out.push(z.name);
          break;
        }
      }
    }
    return out;
  }

  /** Ranger's `zoneAwareAccessEvaluationWithNoAudit`. */
  zoneAwareEvaluate(state: RequestState, policyType: number): RangerAccessResult {
    const zones = this.matchedZones(state);
    let res: RangerAccessResult;
    if (zones.length === 0 || (zones.length > 1 && !state.isAnyAccess)) {
      res = this.evaluateNoAudit(state, policyType, undefined, this.repo);
      res.zoneName = undefined;
    } else {
      res = newResult(policyType);
      for (const z of zones) {
        res = this.evaluateNoAudit(state, policyType, z, this.zones.get(z)!.repo);
        res.zoneName = z;
        if (res.isAllowed) break;
      }
    }
    if (
      state.isAnyAccess &&
      !res.isAllowed &&
      this.zones.size > 0 &&
      Object.keys(state.request.resource.elements).length === 0
    ) {
      for (const z of this.zones.values()) {
        const r = this.evaluateNoAudit(state, policyType, z.name, z.repo);
        if (r.isAllowed) {
          r.zoneName = z.name;
          res = r;
          break;
        }
      }
    }
    return res;
  }

  private createResult(state: RequestState, policyType: number, repo: PolicyRepository): RangerAccessResult {
    const res = newResult(policyType);
    if (this.auditMode === "audit-all") setAudited(res, true);
    else if (this.auditMode === "audit-none") setAudited(res, false);
    else if (!repo.hasPolicies() && this.tagRepo === null) setAudited(res, true);
    if (this.isAuditExcluded(state)) setAudited(res, false);
    return res;
  }

  private isAuditExcluded(state: RequestState): boolean {
    if (state.user !== undefined && this.auditExcludedUsers.size > 0 && this.auditExcludedUsers.has(state.user))
      return true;
    if (this.auditExcludedGroups.size > 0)
      for (const g of state.groups) if (this.auditExcludedGroups.has(g)) return true;
    if (this.auditExcludedRoles.size > 0)
      for (const r of state.roles()) if (this.auditExcludedRoles.has(r)) return true;
    return false;
  }

  private isSuperUser(state: RequestState): boolean {
    if (state.user !== undefined && this.superUsers.size > 0 && this.superUsers.has(state.user)) return true;
    if (this.superGroups.size > 0) for (const g of state.groups) if (this.superGroups.has(g)) return true;
    return false;
  }

  /** Ranger's `evaluatePoliciesForOneAccessTypeNoAudit`. */
  private evaluateNoAudit(
    state: RequestState,
    policyType: number,
    zoneName: string | undefined,
    repo: PolicyRepository,
  ): RangerAccessResult {
    const superUser = this.isSuperUser(state);
    const res = this.createResult(state, policyType, repo);
    if (superUser || state.accessType === SUPER_USER_ACCESS) {
      res.isAllowed = superUser;
      res.isAccessDetermined = true;
      res.policyId = -1;
      res.policyPriority = 2147483647;
      res.reason = "superuser";
    }
    // one ACCESS_TYPE_RESULTS for the tag and the resource policies (tag states share it; RequestState)
    if (state.accessTypesListed && state.accessTypeResults === undefined)
      state.accessTypeResults = new AccessTypeResults();
    if (this.tagRepo && state.tags && state.tags.length > 0) this.evaluateTagPolicies(state, policyType, zoneName, res);
    const allowedByTags = res.isAccessDetermined && res.isAllowed;
    const deniedByTags = res.isAccessDetermined && !res.isAllowed;
    if (repo.hasPolicies()) {
      res.isAccessDetermined = false;
      const cands = repo.candidates(state, policyType);
      const evs = cands.evaluators;
      const known = cands.known;
      // policies Ranger's tries also return although they end above the request (never a match, but
      // the rules of this loop apply to them): looked up only when those rules can fire
      let ancestors: PolicyEvaluator[] | null = null;
      let ai = 0;
      let prev: PolicyEvaluator | null = null;
      let stopped = false;
      const rows = principalRows(evs);
      if (rows !== null && !state.principalMaskReady) state.principalBits.fill(state);
      const maskLo = state.principalMaskLo;
      const maskHi = state.principalMaskHi;
      for (let i = 0; i < evs.length; i++) {
        // Passing over a policy whose items cannot apply to this user and groups, from its packed
        // row alone: while nothing is allowed (or denied by tags) no priority or ancestor rule can
        // fire, and once audit is settled (or the policy does not audit) its evaluate() would return
        // at the principal pre-filter. Counted, as Ranger counts it.
        if (rows !== null && !res.isAllowed && !deniedByTags) {
          const flags = rows[3 * i + 2];
          if (
            (flags & ROW_SKIPPABLE) !== 0 &&
            (res.isAuditedDetermined || (flags & ROW_AUDITED) === 0) &&
            (rows[3 * i] & maskLo) === 0 &&
            (rows[3 * i + 1] & maskHi) === 0
          ) {
            prev = evs[i];
            res.evaluatedPoliciesCount++;
            continue;
          }
        }
        const ev = evs[i];
        // the clock is read only for policies with validity schedules
        if (ev.hasSchedule && !ev.isApplicable(state.accessTime)) continue;
        if (!res.isAccessDetermined && (res.isAllowed || deniedByTags)) {
          ancestors ??= repo.ancestorCandidates(state, policyType, evs);
          if (ancestors.length > 0)
            ai = passAncestors(ancestors, ai, prev, ev, res, deniedByTags, policyType, state.accessTime);
        }
        prev = ev;
        // the rules below fire on a policy whether or not it matches, so only on one Ranger's tries
        // return (-1: not asked yet; asked only when a rule would fire, and never for index-proven SELF)
        let trieCandidate = known && known[i] === "SELF" ? 1 : -1;
        if (deniedByTags) {
          if (res.policyPriority >= ev.priority) {
            if (trieCandidate < 0) trieCandidate = repo.isTrieCandidate(ev, state, policyType) ? 1 : 0;
            if (trieCandidate === 1) res.isAccessDetermined = true;
          }
        } else if (res.isAllowed) {
          if (policyType === 0 ? res.policyPriority > ev.priority : res.policyPriority >= ev.priority) {
            if (trieCandidate < 0) trieCandidate = repo.isTrieCandidate(ev, state, policyType) ? 1 : 0;
            if (trieCandidate === 1) res.isAccessDetermined = true;
          }
        }
        res.evaluatedPoliciesCount++;
        ev.evaluate(state, res, undefined, known ? known[i] : undefined);
        if (res.isAllowed && !ev.hasDeny && !res.isAccessDetermined) {
          if (trieCandidate < 0) trieCandidate = repo.isTrieCandidate(ev, state, policyType) ? 1 : 0;
          if (trieCandidate === 1) res.isAccessDetermined = true;
        }
        if (res.isAuditedDetermined && res.isAccessDetermined) {
          stopped = true;
          break;
        }
      }
      if (!stopped && !res.isAccessDetermined && (res.isAllowed || deniedByTags)) {
        ancestors ??= repo.ancestorCandidates(state, policyType, evs);
        if (ancestors.length > 0)
          passAncestors(ancestors, ai, prev, null, res, deniedByTags, policyType, state.accessTime);
      }
      if (!res.isAccessDetermined) {
        if (deniedByTags) res.isAllowed = false;
        else if (allowedByTags) res.isAllowed = true;
        if (!res.isAllowed && !this.isFallbackSupported) res.isAccessDetermined = true;
      }
      if (res.isAllowed) res.isAccessDetermined = true;
      state.accessTypeResults = undefined;
    }
    return res;
  }

  /** Tag-based policies for every tag of the resource, in evaluation order (§2.11). */
  private evaluateTagPolicies(
    state: RequestState,
    policyType: number,
    zoneName: string | undefined,
    res: RangerAccessResult,
  ): void {
    const pairs = this.tagCandidates(state, policyType, zoneName);
    for (const { ev, tag, tagState } of pairs) {
      const tagRes = this.createResult(state, policyType, this.repo);
      copyAccess(tagRes, res);
      copyAudit(tagRes, res);
      res.evaluatedPoliciesCount++;
      ev.evaluate(tagState, tagRes, (tag.matchType ?? "SELF") as MatchType);
      if (tagRes.isAllowed && !ev.hasDeny) tagRes.isAccessDetermined = true;
      if (tagRes.isAudited) copyAudit(res, tagRes);
      if (!res.isAccessDetermined) {
        if (tagRes.isAccessDetermined) copyAccess(res, tagRes);
        else if (!res.isAllowed && tagRes.isAllowed) copyAccess(res, tagRes);
      }
      if (res.isAuditedDetermined && res.isAccessDetermined) break;
    }
    if (res.isAllowed) res.isAccessDetermined = true;
  }

  /** (tag policy, tag) pairs whose tag is valid now and whose policy names the tag, in eval order. */
  tagCandidates(
    state: RequestState,
    policyType: number,
    zoneName: string | undefined,
  ): { ev: PolicyEvaluator; tag: RangerTagForEval; tagState: RequestState }[] {
    const out: { ev: PolicyEvaluator; tag: RangerTagForEval; tagState: RequestState }[] = [];
    const repo = this.tagRepo;
    if (!repo || !state.tags) return out;
    const tz = this.options.defaultTimeZone ?? this.input.timeZone ?? "UTC";
    const zoneHasTags = zoneName ? this.input.securityZones?.[zoneName]?.containsAssociatedTagService === true : false;
    for (const tag of state.tags) {
      if (tag.validityPeriods && tag.validityPeriods.length > 0) {
        if (!scheduleFn(tag.validityPeriods, tz)(state.accessTime)) continue;
      }
      const tagState = this.tagState(state, tag);
      for (const ev of repo.candidates(tagState, policyType).evaluators) {
        if (!ev.isApplicable(state.accessTime)) continue;
        if (!zoneHasTags) {
          if (ev.zoneName) continue;
        } else if (ev.zoneName !== zoneName) continue;
        out.push({ ev, tag, tagState });
      }
    }
    // RangerPolicyRepository: access by eval order; masks by tag match type (SELF first) then name; row filters by name
    if (policyType === 1)
      out.sort(
        (a, b) =>
          MATCH_TYPE_RANK[a.tag.matchType ?? "SELF"] - MATCH_TYPE_RANK[b.tag.matchType ?? "SELF"] ||
          compareByName(a.ev, b.ev),
      );
    else if (policyType === 2) out.sort((a, b) => compareByName(a.ev, b.ev));
    else out.sort((a, b) => compareEvalOrder(a.ev, b.ev));
    return out;
  }

  /** A request state for evaluating tag policies of one tag: resource `{tag: type}`. */
  tagState(state: RequestState, tag: RangerTagForEval): RequestState {
    const req: RangerAccessRequest = {
      ...state.request,
      resource: { elements: { tag: tag.type }, ownerUser: state.request.resource.ownerUser },
    };
    const ts: RequestState = {
      ...state,
      // prototype members of the engine's state class are not own properties: carry them over
      accessTime: state.accessTime,
      request: req,
      roles: state.roles,
      tag,
      // the request's own ACCESS_TYPE_RESULTS: Ranger's tag request shares the request context
      accessTypeResults: state.accessTypeResults,
    };
    (ts as { env: MatchEnv }).env = this.matchEnv(ts);
    (ts as { _exprEnv?: ExpressionEnv })._exprEnv = undefined;
    return ts;
  }

  /** Ranger's `evaluateAuditPolicies`: tag audit filters, then service audit filters. */
  private evaluateAuditFilters(state: RequestState, res: RangerAccessResult): void {
    if (this.auditFilters.length === 0 && this.tagAuditFilters.length === 0) return;
    if (this.tagAuditFilters.length > 0 && state.tags) {
      for (const tag of state.tags) {
        const ts = this.tagState(state, tag);
        for (const f of this.tagAuditFilters) {
          if (f.matches(ts.request, res, state.roles(), ts.env)) {
            setAudited(res, f.isAudited);
            return;
          }
        }
      }
    }
    for (const f of this.auditFilters) {
      if (f.matches(state.request, res, state.roles(), state.env)) {
        setAudited(res, f.isAudited);
        return;
      }
    }
  }
}

/**
 * The request state the engine builds (RequestState): roles and the access time (a clock read costs
 * as much as a whole index lookup) are computed on first use, and the state is its own match env.
 * tagState() copies it with a spread, which keeps own fields only: it carries `accessTime` over and
 * gives the copy its own env; `roles` works on the copy through its copied `_roles`/`_engine`.
 */
class EngineRequestState implements RequestState, MatchEnv {
  readonly request: RangerAccessRequest;
  readonly user: string | undefined;
  readonly groups: readonly string[];
  principalMaskReady = false;
  principalMaskLo = 0;
  principalMaskHi = 0;
  readonly principalBits: PrincipalBits;
  readonly accessType: string;
  readonly isAnyAccess: boolean;
  readonly requestedAccessTypes: readonly string[];
  readonly accessTypesListed: boolean;
  readonly descendantsCount: boolean;
  readonly ignoreDescendantDeny: boolean;
  readonly context: Record<string, unknown>;
  readonly env: MatchEnv;
  readonly budget: WorkBudget | undefined;
  accessTypeGroups: readonly (readonly string[])[] | undefined;
  accessTypeResults: RequestState["accessTypeResults"] = undefined;
  tag: RangerTagForEval | undefined = undefined;
  tags: readonly RangerTagForEval[] | undefined = undefined;
  _exprEnv: ExpressionEnv | undefined = undefined;
  private _time: number | undefined;
  private _roles: ReadonlySet<string> | null = null;
  private readonly _engine: PolicyEngine;

  constructor(
    engine: PolicyEngine,
    request: RangerAccessRequest,
    accessType: string,
    isAnyAccess: boolean,
    requested: readonly string[],
    accessTypesListed: boolean,
    descendantsCount: boolean,
    ignoreDescendantDeny: boolean,
    context: Record<string, unknown>,
    accessTypeGroups: readonly (readonly string[])[] | undefined,
  ) {
    this._engine = engine;
    this.request = request;
    this.user = request.user ?? undefined;
    this.groups = request.userGroups ?? [];
    this.principalBits = engine.principalBits;
    this.accessType = accessType;
    this.isAnyAccess = isAnyAccess;
    this.requestedAccessTypes = requested;
    this.accessTypesListed = accessTypesListed;
    this.descendantsCount = descendantsCount;
    this.ignoreDescendantDeny = ignoreDescendantDeny;
    this.context = context;
    this.env = this;
    this.budget = request.workBudget;
    this.accessTypeGroups = accessTypeGroups;
    this._time = request.accessTime ?? undefined;
  }

  get accessTime(): number {
    let t = this._time;
    if (t === undefined) {
      t = Date.now();
      this._time = t;
    }
    return t;
  }

  roles(): ReadonlySet<string> {
    let r = this._roles;
    if (r === null) {
      r = this._engine.rolesOf(this.request, this.groups);
      this._roles = r;
    }
    return r;
  }

  token(name: string): unknown {
    if (name === "USER") return this.user;
    if (name === "OWNER") return this.request.resource.ownerUser;
    return this.context[`token:${name}`];
  }

  resolveExpressions(text: string): string | null {
    return this._engine.resolveText(text, this);
  }
}

/** A request's view for dynamic resource values: one object per request instead of two closures. */
class RequestEnv implements MatchEnv {
  private readonly engine: PolicyEngine;
  private readonly state: RequestState;
  readonly budget: WorkBudget | undefined;
  constructor(engine: PolicyEngine, state: RequestState) {
    this.engine = engine;
    this.state = state;
    this.budget = state.request.workBudget;
  }
  token(name: string): unknown {
    const state = this.state;
    if (name === "USER") return state.user;
    if (name === "OWNER") return state.request.resource.ownerUser;
    return state.context[`token:${name}`];
  }
  resolveExpressions(text: string): string | null {
    return this.engine.resolveText(text, this.state);
  }
}

const NO_ZONES: string[] = Object.freeze([]) as unknown as string[];

/**
 * The evaluation loop's rules for the ancestor candidates (PolicyRepository#ancestorCandidates)
 * ordered after `prev` and before `limit` (null: all that are left): Ranger evaluates them in that
 * place, they cannot match, but the priority checks before evaluate and "allowed, and this policy
 * has no deny ⇒ determined" after it still apply. Returns the index to continue from.
 */
function passAncestors(
  ancestors: readonly PolicyEvaluator[],
  from: number,
  prev: PolicyEvaluator | null,
  limit: PolicyEvaluator | null,
  res: RangerAccessResult,
  deniedByTags: boolean,
  policyType: number,
  time: number,
): number {
  let i = from;
  while (i < ancestors.length && prev !== null && compareEvalOrder(ancestors[i], prev) <= 0) i++;
  while (i < ancestors.length && (limit === null || compareEvalOrder(ancestors[i], limit) < 0)) {
    const ev = ancestors[i++];
    if (!ev.isApplicable(time)) continue;
    if (deniedByTags) {
      if (res.policyPriority >= ev.priority) res.isAccessDetermined = true;
    } else if (res.isAllowed) {
      if (policyType === 0 ? res.policyPriority > ev.priority : res.policyPriority >= ev.priority)
        res.isAccessDetermined = true;
    }
    res.evaluatedPoliciesCount++;
    if (res.isAllowed && !ev.hasDeny) res.isAccessDetermined = true;
    if (res.isAccessDetermined) break;
  }
  return i;
}

function scheduleFn(schedules: readonly RangerValiditySchedule[], tz: string): (time: number) => boolean {
  try {
    const compiled = compileSchedules(schedules, { defaultTimeZone: tz });
    return (t) => {
      try {
        return isScheduleApplicable(compiled, t);
      } catch {
        return true;
      }
    };
  } catch {
    return () => true;
  }
}

/** `context.TAGS` JSON; like Ranger's lenient Gson it also accepts single-quoted strings. */
function parseTagsJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return JSON.parse(raw.replace(/'/g, '"'));
  }
}
