/** Shapes of the API bodies the console reads (the public API's, narrowed to the fields shown). */

export interface Group {
  id: string;
  name: string;
  title?: string;
  description?: string;
  parentId: string | null;
  orgId?: string;
  metadata?: Record<string, unknown>;
  source?: string;
  /** The identity source a synced group comes from (`source` "ldap"). */
  identitySourceId?: string | null;
  createdAt?: string;
  updatedAt?: string;
}

export interface User {
  id: string;
  orgId?: string;
  username: string;
  email: string | null;
  displayName: string | null;
  status: string;
  source: string;
  createdAt: string;
}

export interface Service {
  id: number;
  name: string;
  type: string;
  isEnabled: boolean;
  policyVersion: number;
  policyUpdateTime: number | null;
  tagService: string | null;
  description?: string;
}

export interface EngineState {
  service: string;
  policyVersion: number;
  policies: number;
  enabledPolicies: number;
  builtAt: string;
  updatedAt: string | null;
}

export interface AuditEvent {
  id: string;
  time: string;
  actor: { type: string; id: string; name: string };
  action: string;
  target: { type: string; id: string };
  before: unknown;
  after: unknown;
}

export interface PolicyItem {
  accesses: { type: string; isAllowed: boolean }[];
  users: string[];
  groups: string[];
  roles: string[];
  conditions?: PolicyCondition[];
  delegateAdmin?: boolean;
  /** Masking items only: the mask type of the service-def's `dataMaskDef`. */
  dataMaskInfo?: { dataMaskType: string; conditionExpr?: string; valueExpr?: string };
  /** Row-filter items only: the SQL predicate. */
  rowFilterInfo?: { filterExpr: string };
}

/** A condition of a policy or item (`{type: "ip-range", values: [...]}`). */
export interface PolicyCondition {
  type: string;
  values: string[];
}

/** When a policy applies: `yyyy/MM/dd HH:mm:ss` in `timeZone`, as Ranger. */
export interface ValiditySchedule {
  startTime?: string;
  endTime?: string;
  timeZone?: string;
}

export interface Policy {
  id: number;
  version: number;
  service: string;
  name: string;
  description: string;
  policyType: number;
  policyPriority: number;
  isEnabled: boolean;
  isAuditEnabled: boolean;
  resources: Record<string, { values: string[]; isExcludes?: boolean; isRecursive?: boolean }>;
  policyItems: PolicyItem[];
  denyPolicyItems: PolicyItem[];
  allowExceptions: PolicyItem[];
  denyExceptions: PolicyItem[];
  dataMaskPolicyItems?: PolicyItem[];
  rowFilterPolicyItems?: PolicyItem[];
  conditions?: PolicyCondition[];
  validitySchedules?: ValiditySchedule[];
  policyLabels: string[];
  zoneName: string;
  updatedBy?: string;
  updateTime?: number;
}

/** A resource level of a service-def. */
export interface ResourceDef {
  name: string;
  label: string;
  level: number;
  parent: string;
  mandatory: boolean;
}

/** The masking or row-filter part of a service-def: the resources and access types those policies use. */
export interface SubDef {
  resources?: { name: string }[];
  accessTypes?: { name: string; label?: string }[];
  maskTypes?: { name: string; label?: string; description?: string }[];
}

export interface ServiceDef {
  name: string;
  resources: ResourceDef[];
  accessTypes: { name: string; label: string }[];
  policyConditions?: { name: string; label?: string }[];
  dataMaskDef?: SubDef;
  rowFilterDef?: SubDef;
}

export interface Role {
  id: string;
  name: string;
  description: string;
  permissions: string[];
  builtin: boolean;
  composites: string[];
  /** Null for built-in roles. */
  orgId?: string | null;
  updatedAt?: string;
}

/** A role binding, as `GET /v1/role-bindings` answers it. */
export interface RoleBinding {
  id: string;
  roleId: string;
  principal: { type: "user" | "group" | "service_account"; id: string };
  scope: { type: "org" | "service" | "resource"; value: string };
  allowAllObjects: boolean;
  isAdmin: boolean;
}
