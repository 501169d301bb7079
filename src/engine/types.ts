/**
 * Ranger's JSON model, typed field-for-field so that JSON produced by Apache Ranger (admin REST,
 * plugin downloads, its test files) loads unchanged. Field names are Ranger's Java field names;
 * every field is optional where Ranger tolerates null, with Ranger's null-default noted.
 *
 * Why one file: other modules (reference evaluator, benchmarks, storage, HTTP) code against these
 * shapes; keeping them together makes the contract easy to review.
 */

import type { WorkBudget } from "./match/work-budget.ts";

/** Resource value spec of a policy (`RangerPolicyResource`). */
export interface RangerPolicyResource {
  values?: string[];
  /** null ⇒ false */
  isExcludes?: boolean;
  /** null ⇒ false */
  isRecursive?: boolean;
}

/** resourceName → value spec. */
export type RangerPolicyResources = Record<string, RangerPolicyResource>;

export interface RangerPolicyItemAccess {
  type?: string;
  /** null ⇒ true */
  isAllowed?: boolean;
}

export interface RangerPolicyItemCondition {
  type: string;
  values?: string[];
}

export interface RangerPolicyItem {
  accesses?: RangerPolicyItemAccess[];
  users?: string[];
  groups?: string[];
  roles?: string[];
  conditions?: RangerPolicyItemCondition[];
  /** null ⇒ false */
  delegateAdmin?: boolean;
}

export interface RangerPolicyItemDataMaskInfo {
  dataMaskType?: string;
  conditionExpr?: string;
  valueExpr?: string;
}

export interface RangerDataMaskPolicyItem extends RangerPolicyItem {
  dataMaskInfo?: RangerPolicyItemDataMaskInfo;
}

export interface RangerPolicyItemRowFilterInfo {
  filterExpr?: string;
}

export interface RangerRowFilterPolicyItem extends RangerPolicyItem {
  rowFilterInfo?: RangerPolicyItemRowFilterInfo;
}

export interface RangerValidityRecurrenceSchedule {
  minute?: string;
  hour?: string;
  dayOfMonth?: string;
  dayOfWeek?: string;
  month?: string;
  year?: string;
}

export interface RangerValidityInterval {
  days?: number;
  hours?: number;
  minutes?: number;
}

export interface RangerValidityRecurrence {
  schedule?: RangerValidityRecurrenceSchedule;
  interval?: RangerValidityInterval;
}

/** `startTime`/`endTime` are `yyyy/MM/dd HH:mm:ss` in `timeZone` (default: the evaluator's zone). */
export interface RangerValiditySchedule {
  startTime?: string;
  endTime?: string;
  timeZone?: string;
  recurrences?: RangerValidityRecurrence[];
}

/** Policy types: 0 access, 1 data-mask, 2 row-filter. */
export type PolicyType = 0 | 1 | 2;
export const POLICY_TYPE_ACCESS = 0;
export const POLICY_TYPE_DATAMASK = 1;
export const POLICY_TYPE_ROWFILTER = 2;

export interface RangerPolicy {
  id?: number;
  guid?: string;
  /** null ⇒ true */
  isEnabled?: boolean;
  version?: number;
  service?: string;
  name?: string;
  /** null ⇒ 0 */
  policyType?: number;
  /** null ⇒ 0 (NORMAL); 1 = OVERRIDE */
  policyPriority?: number;
  description?: string;
  resourceSignature?: string;
  /** null ⇒ true */
  isAuditEnabled?: boolean;
  resources?: RangerPolicyResources;
  additionalResources?: RangerPolicyResources[];
  conditions?: RangerPolicyItemCondition[];
  policyItems?: RangerPolicyItem[];
  denyPolicyItems?: RangerPolicyItem[];
  allowExceptions?: RangerPolicyItem[];
  denyExceptions?: RangerPolicyItem[];
  dataMaskPolicyItems?: RangerDataMaskPolicyItem[];
  rowFilterPolicyItems?: RangerRowFilterPolicyItem[];
  serviceType?: string;
  options?: Record<string, unknown>;
  validitySchedules?: RangerValiditySchedule[];
  policyLabels?: string[];
  zoneName?: string;
  /** null ⇒ false */
  isDenyAllElse?: boolean;
  [extra: string]: unknown;
}

// ---------------------------------------------------------------- service-def

export interface RangerResourceDef {
  itemId?: number;
  name: string;
  type?: string;
  level?: number;
  parent?: string;
  mandatory?: boolean;
  lookupSupported?: boolean;
  recursiveSupported?: boolean;
  excludesSupported?: boolean;
  matcher?: string;
  matcherOptions?: Record<string, string | boolean>;
  validationRegEx?: string;
  validationMessage?: string;
  uiHint?: string;
  label?: string;
  description?: string;
  accessTypeRestrictions?: string[];
  isValidLeaf?: boolean;
}

export interface RangerAccessTypeDef {
  itemId?: number;
  name: string;
  label?: string;
  impliedGrants?: string[];
  category?: "CREATE" | "READ" | "UPDATE" | "DELETE" | "MANAGE" | string;
}

export interface RangerPolicyConditionDef {
  itemId?: number;
  name: string;
  evaluator?: string;
  evaluatorOptions?: Record<string, string>;
  label?: string;
  description?: string;
  [extra: string]: unknown;
}

export interface RangerContextEnricherDef {
  itemId?: number;
  name: string;
  enricher?: string;
  enricherOptions?: Record<string, string>;
}

export interface RangerDataMaskTypeDef {
  itemId?: number;
  name: string;
  label?: string;
  description?: string;
  transformer?: string;
  dataMaskOptions?: Record<string, string>;
}

export interface RangerDataMaskDef {
  maskTypes?: RangerDataMaskTypeDef[];
  accessTypes?: RangerAccessTypeDef[];
  resources?: RangerResourceDef[];
}

export interface RangerRowFilterDef {
  accessTypes?: RangerAccessTypeDef[];
  resources?: RangerResourceDef[];
}

export interface RangerServiceDef {
  id?: number;
  name: string;
  displayName?: string;
  implClass?: string;
  label?: string;
  description?: string;
  options?: Record<string, string>;
  configs?: unknown[];
  resources?: RangerResourceDef[];
  accessTypes?: RangerAccessTypeDef[];
  policyConditions?: RangerPolicyConditionDef[];
  contextEnrichers?: RangerContextEnricherDef[];
  enums?: unknown[];
  dataMaskDef?: RangerDataMaskDef;
  rowFilterDef?: RangerRowFilterDef;
  markerAccessTypes?: RangerAccessTypeDef[];
  [extra: string]: unknown;
}

// ---------------------------------------------------------------- roles, zones, deltas

export interface RangerRoleMember {
  name: string;
  isAdmin?: boolean;
}

export interface RangerRole {
  id?: number;
  name: string;
  description?: string;
  options?: Record<string, unknown>;
  users?: RangerRoleMember[];
  groups?: RangerRoleMember[];
  roles?: RangerRoleMember[];
  createdByUser?: string;
}

/** `RangerRoles` as downloaded by plugins. */
export interface RangerRoles {
  serviceName?: string;
  roleVersion?: number;
  rangerRoles?: RangerRole[];
}

/** Policy delta change types (`RangerPolicyDelta`): 0 create, 1 update, 2 delete. */
export const CHANGE_TYPE_POLICY_CREATE = 0;
export const CHANGE_TYPE_POLICY_UPDATE = 1;
export const CHANGE_TYPE_POLICY_DELETE = 2;

export interface RangerPolicyDelta {
  id?: number;
  changeType: number;
  policiesVersion?: number;
  policy: RangerPolicy;
}

/** `ServicePolicies.SecurityZoneInfo`: zone resources are resourceName → values. */
export interface SecurityZoneInfo {
  zoneName?: string;
  resources?: Record<string, string[]>[];
  policies?: RangerPolicy[];
  policyDeltas?: RangerPolicyDelta[];
  containsAssociatedTagService?: boolean;
}

/** `ServicePolicies.TagPolicies`. */
export interface TagPolicies {
  serviceName?: string;
  serviceId?: number;
  policyVersion?: number;
  auditMode?: string;
  serviceDef?: RangerServiceDef;
  policies?: RangerPolicy[];
  serviceConfig?: Record<string, string>;
}

/** `ServicePolicies` as served by `/service/plugins/policies/download/{service}`. */
export interface ServicePolicies {
  serviceName?: string;
  serviceId?: number;
  policyVersion?: number;
  auditMode?: string;
  serviceDef?: RangerServiceDef;
  policies?: RangerPolicy[];
  policyDeltas?: RangerPolicyDelta[];
  tagPolicies?: TagPolicies;
  securityZones?: Record<string, SecurityZoneInfo>;
  serviceConfig?: Record<string, string>;
  [extra: string]: unknown;
}

// ---------------------------------------------------------------- tags

export interface RangerValidityPeriod {
  startTime?: string;
  endTime?: string;
  timeZone?: string;
}

/** A tag instance (`RangerTag`). */
export interface RangerTag {
  id?: number;
  guid?: string;
  type: string;
  attributes?: Record<string, string>;
  validityPeriods?: RangerValiditySchedule[];
  owner?: number;
  options?: Record<string, unknown>;
}

export interface RangerTagDef {
  id?: number;
  guid?: string;
  name: string;
  attributeDefs?: { name: string; type?: string }[];
}

export interface RangerServiceResource {
  id?: number;
  guid?: string;
  serviceName?: string;
  resourceElements: RangerPolicyResources;
  ownerUser?: string;
  resourceSignature?: string;
}

/** `ServiceTags`: tags attached to service resources. */
export interface ServiceTags {
  op?: string;
  tagModel?: string;
  serviceName?: string;
  tagVersion?: number;
  tagDefinitions?: Record<string, RangerTagDef>;
  tags?: Record<string, RangerTag>;
  serviceResources?: RangerServiceResource[];
  /** serviceResource id → tag ids */
  resourceToTagIds?: Record<string, number[]>;
  isDelta?: boolean;
  [extra: string]: unknown;
}

/** Tag-to-resource match type carried by a tag in a request (`RangerTagForEval.matchType`). */
export type TagMatchType = "SELF" | "DESCENDANT" | "ANCESTOR" | "SELF_AND_ALL_DESCENDANTS" | "NONE";

/** A tag as seen by one request (`RangerTagForEval`), as in a test's `context.TAGS`. */
export interface RangerTagForEval {
  type: string;
  attributes?: Record<string, string>;
  options?: Record<string, unknown>;
  matchType?: TagMatchType;
  validityPeriods?: RangerValiditySchedule[];
}

// ---------------------------------------------------------------- request / result

export type ResourceMatchingScope = "SELF" | "SELF_OR_DESCENDANTS";
export type ResourceElementMatchingScope = "SELF" | "SELF_OR_CHILD" | "SELF_OR_PREFIX";

/** Request resource: element name → a value or a collection of values. */
export interface RangerAccessResource {
  elements: Record<string, string | string[] | null | undefined>;
  ownerUser?: string;
}

/** User/group attributes for `${{USER.x}}` expressions (`RangerUserStore` essentials). */
export interface UserStoreInfo {
  userAttributes?: Record<string, Record<string, string>>;
  groupAttributes?: Record<string, Record<string, string>>;
  userGroups?: Record<string, string[]>;
}

export interface RangerAccessRequest {
  resource: RangerAccessResource;
  /** "" or absent ⇒ `_any`; `_admin` ⇒ delegated admin check; `_super_user` ⇒ super-user check. */
  accessType?: string;
  user?: string;
  userGroups?: string[];
  /** When non-empty, used instead of computing roles from the role store. */
  userRoles?: string[];
  /** epoch millis; absent ⇒ now */
  accessTime?: number;
  clientIPAddress?: string;
  remoteIPAddress?: string;
  forwardedAddresses?: string[];
  clientType?: string;
  action?: string;
  requestData?: string;
  sessionId?: string;
  clusterName?: string;
  clusterType?: string;
  /** Free-form context: `TAGS` (RangerTagForEval[] or its JSON), `REQUESTED_RESOURCES`, attributes. */
  context?: Record<string, unknown>;
  resourceMatchingScope?: ResourceMatchingScope;
  resourceElementMatchingScopes?: Record<string, ResourceElementMatchingScope>;
  /** default true */
  isDescendantDenyIgnored?: boolean;
  /** Attributes for `${{USER.x}}` etc. */
  userStore?: UserStoreInfo;
  /** Per-request grants (Ranger's `RangerInlinePolicy`), evaluated after the service's policies. */
  inlinePolicy?: RangerInlinePolicy;
  /**
   * Gatehouse: the matching work multi-valued resources may cost (match/work-budget.ts); the engine
   * throws `WorkBudgetExceeded` rather than go over. Absent: unbounded, as in Ranger.
   */
  workBudget?: WorkBudget;
}

/** One grant of an inline policy; empty principals = everyone, empty resources = every resource. */
export interface RangerInlineGrant {
  /** `u:user`, `g:group`, `r:role` */
  principals?: string[];
  /** `<resourceName>:<value>/<value>/…`, e.g. `key:vol1/bucket1/dir/*` */
  resources?: string[];
  /** access types; implied grants are expanded */
  permissions?: string[];
  /** when non-empty, the request's `action` must match one of these (wildcards allowed) */
  actions?: string[];
}

/** Ranger's `RangerInlinePolicy`. */
export interface RangerInlinePolicy {
  /** `u:…`/`g:…`/`r:…`: the request must also be allowed by the service's policies for this principal */
  grantor?: string;
  /** INLINE (default): the inline policy decides; RANGER_AND_INLINE: both must allow; RANGER_OR_INLINE: either */
  mode?: "INLINE" | "RANGER_AND_INLINE" | "RANGER_OR_INLINE";
  grants?: RangerInlineGrant[];
  createdBy?: string;
}

export interface RangerAccessResult {
  isAccessDetermined: boolean;
  isAllowed: boolean;
  isAuditedDetermined: boolean;
  isAudited: boolean;
  auditPolicyId: number;
  policyId: number;
  policyPriority: number;
  policyVersion?: number;
  zoneName?: string;
  reason?: string;
  evaluatedPoliciesCount: number;
  policyType: number;
  maskType?: string;
  maskCondition?: string;
  maskedValue?: string;
  filterExpr?: string;
}

/** Service configuration read by the engine (Ranger's `ranger.plugin.*` keys, parsed). */
export interface EngineServiceConfig {
  superUsers?: string[];
  superGroups?: string[];
  auditExcludedUsers?: string[];
  auditExcludedGroups?: string[];
  auditExcludedRoles?: string[];
  /** "audit-default" | "audit-all" | "audit-none" */
  auditMode?: string;
  /** `ranger.plugin.audit.filters` (JSON text or parsed list) */
  auditFilters?: AuditFilter[] | string;
  /** When true, "nothing matched" leaves the result undetermined (HDFS-style fallback). */
  isFallbackSupported?: boolean;
  /** Raw service config map; `ranger.plugin.super.users` etc. are read from here too. */
  raw?: Record<string, string>;
}

export interface AuditFilter {
  accessResult?: "ALLOWED" | "DENIED" | "NOT_DETERMINED";
  resources?: RangerPolicyResources;
  accessTypes?: string[];
  actions?: string[];
  users?: string[];
  groups?: string[];
  roles?: string[];
  isAudited?: boolean;
}

/** Geo data: a parsed `etc/ranger/geo/*.txt` file, handed to the engine by the caller. */
export interface GeoDatabase {
  /** Text of the geo file (first line header). The engine parses it; it never reads files. */
  text: string;
}

// ---------------------------------------------------------------- engine input / ACLs

/** Tag side of the engine: the tag service-def with its policies (Ranger's `tagPolicies`). */
export interface TagPolicyInput {
  serviceName?: string;
  serviceDef: RangerServiceDef;
  policies: RangerPolicy[];
  serviceConfig?: Record<string, string>;
}

/** Everything needed to build an engine; all data, no I/O. */
export interface EngineInput {
  serviceName?: string;
  serviceDef: RangerServiceDef;
  policies: RangerPolicy[];
  roles?: RangerRole[];
  securityZones?: Record<string, SecurityZoneInfo>;
  tagPolicies?: TagPolicyInput;
  serviceTags?: ServiceTags;
  serviceConfig?: EngineServiceConfig;
  policyVersion?: number;
  /** Geo database(s) keyed by enricher option `FilePath` basename or "default". */
  geo?: Record<string, string>;
  /** Default time zone (IANA id) for validity schedules without one; default "UTC". */
  timeZone?: string;
}

/** Per-access result inside an ACL (`RangerResourceACLs.AccessResult`). */
export interface AclAccessResult {
  /** -1 denied, 0 undetermined, 1 allowed, 2 conditional */
  result: number;
  isFinal: boolean;
  /** the policy that set this entry */
  policy?: { id: number; name?: string };
}

/** principal → accessType → result. */
export type AclPermissions = Record<string, Record<string, AclAccessResult>>;

export interface AclMaskInfo {
  users: string[];
  groups: string[];
  roles: string[];
  accessTypes: string[];
  maskInfo?: RangerPolicyItemDataMaskInfo;
  filterInfo?: RangerPolicyItemRowFilterInfo;
  isConditional: boolean;
}

export interface ResourceACLs {
  userACLs: AclPermissions;
  groupACLs: AclPermissions;
  roleACLs: AclPermissions;
  dataMasks: AclMaskInfo[];
  rowFilters: AclMaskInfo[];
}
