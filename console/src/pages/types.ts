/** Shapes of the API bodies the console reads (the public API's, narrowed to the fields shown). */

export interface Group {
  id: string;
  name: string;
  title?: string;
  description?: string;
  parentId: string | null;
  source?: string;
  createdAt?: string;
}

export interface User {
  id: string;
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
  conditions?: unknown[];
  delegateAdmin?: boolean;
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
  policyLabels: string[];
  zoneName: string;
  updatedBy?: string;
  updateTime?: number;
}

export interface ServiceDef {
  name: string;
  resources: { name: string; label: string; level: number; parent: string; mandatory: boolean }[];
  accessTypes: { name: string; label: string }[];
}

export interface Role {
  id: string;
  name: string;
  description: string;
  permissions: string[];
  builtin: boolean;
  composites: string[];
}
