import type {
  RangerDataMaskPolicyItem,
  RangerPolicy,
  RangerPolicyItem,
  RangerPolicyItemCondition,
  RangerPolicyResource,
  RangerPolicyResources,
  RangerRowFilterPolicyItem,
} from "../engine/types.ts";
import { normaliseName } from "../http/names.ts";

/** The item lists of a Ranger policy, in Ranger's field order. */
export const ITEM_LISTS = [
  "policyItems",
  "denyPolicyItems",
  "allowExceptions",
  "denyExceptions",
  "dataMaskPolicyItems",
  "rowFilterPolicyItems",
] as const;

/** One of the item-list field names. */
export type ItemListName = (typeof ITEM_LISTS)[number];

/**
 * Fields the server owns: a client may send them (Ranger exports carry them) but they are
 * replaced on write, so they are dropped from the stored body.
 */
const SERVER_FIELDS = [
  "id",
  "guid",
  "version",
  "service",
  "serviceType",
  "resourceSignature",
  "createTime",
  "updateTime",
  "createdBy",
  "updatedBy",
] as const;

function strings(list: unknown): string[] {
  return Array.isArray(list) ? list.map((v) => String(v)) : [];
}

function normalizeResource(resource: RangerPolicyResource | undefined): RangerPolicyResource {
  return {
    values: strings(resource?.values),
    isExcludes: resource?.isExcludes === true,
    isRecursive: resource?.isRecursive === true,
  };
}

/** Normalises a resource map; keys keep their order so validation messages follow the input. */
export function normalizeResources(resources: RangerPolicyResources | undefined): RangerPolicyResources {
  const out: RangerPolicyResources = {};
  for (const [name, resource] of Object.entries(resources ?? {})) out[name] = normalizeResource(resource);
  return out;
}

function normalizeConditions(conditions: RangerPolicyItemCondition[] | undefined): RangerPolicyItemCondition[] {
  return (conditions ?? []).map((c) => ({ type: String(c.type ?? ""), values: strings(c.values) }));
}

/** Principal names in their one spelling (NFC), as the directory stores them (docs/input-rules.md). */
function principalNames(list: unknown): string[] {
  return strings(list).map(normaliseName);
}

function normalizeItem(item: RangerPolicyItem): RangerPolicyItem {
  return {
    accesses: (item.accesses ?? []).map((a) => ({ type: String(a.type ?? ""), isAllowed: a.isAllowed !== false })),
    users: principalNames(item.users),
    groups: principalNames(item.groups),
    roles: principalNames(item.roles),
    conditions: normalizeConditions(item.conditions),
    delegateAdmin: item.delegateAdmin === true,
  };
}

/**
 * Gives a policy from any client (native API, Nx1, a Ranger export) one canonical shape: Ranger's
 * null-defaults made explicit, every item list present, server-owned fields removed. The stored
 * body, diffs and exports all use this shape, so equal policies compare equal.
 */
export function normalizePolicy(input: RangerPolicy): RangerPolicy {
  const policy: RangerPolicy = { ...input };
  for (const field of SERVER_FIELDS) delete policy[field];
  const out: RangerPolicy = {
    // one spelling per name: NFD and NFC "é" are one policy (docs/input-rules.md)
    name: normaliseName(String(input.name ?? "")),
    description: String(input.description ?? ""),
    policyType: input.policyType ?? 0,
    policyPriority: input.policyPriority ?? 0,
    isEnabled: input.isEnabled !== false,
    isAuditEnabled: input.isAuditEnabled !== false,
    isDenyAllElse: input.isDenyAllElse === true,
    resources: normalizeResources(input.resources),
    policyItems: (input.policyItems ?? []).map(normalizeItem),
    denyPolicyItems: (input.denyPolicyItems ?? []).map(normalizeItem),
    allowExceptions: (input.allowExceptions ?? []).map(normalizeItem),
    denyExceptions: (input.denyExceptions ?? []).map(normalizeItem),
    dataMaskPolicyItems: (input.dataMaskPolicyItems ?? []).map(
      (item: RangerDataMaskPolicyItem): RangerDataMaskPolicyItem => ({
        ...normalizeItem(item),
        dataMaskInfo: {
          dataMaskType: String(item.dataMaskInfo?.dataMaskType ?? ""),
          ...(item.dataMaskInfo?.conditionExpr ? { conditionExpr: item.dataMaskInfo.conditionExpr } : {}),
          ...(item.dataMaskInfo?.valueExpr ? { valueExpr: item.dataMaskInfo.valueExpr } : {}),
        },
      }),
    ),
    rowFilterPolicyItems: (input.rowFilterPolicyItems ?? []).map(
      (item: RangerRowFilterPolicyItem): RangerRowFilterPolicyItem => ({
        ...normalizeItem(item),
        rowFilterInfo: { filterExpr: String(item.rowFilterInfo?.filterExpr ?? "") },
      }),
    ),
    conditions: normalizeConditions(input.conditions),
    validitySchedules: input.validitySchedules ?? [],
    policyLabels: strings(input.policyLabels),
    zoneName: String(input.zoneName ?? ""),
    options: input.options ?? {},
  };
  if (input.additionalResources && input.additionalResources.length > 0) {
    out.additionalResources = input.additionalResources.map(normalizeResources);
  }
  return out;
}

/** Users, groups and roles named by any item, for the denormalised search columns. */
export function principalsOf(policy: RangerPolicy): { users: string[]; groups: string[]; roles: string[] } {
  const users = new Set<string>();
  const groups = new Set<string>();
  const roles = new Set<string>();
  for (const list of ITEM_LISTS) {
    for (const item of (policy[list] as RangerPolicyItem[] | undefined) ?? []) {
      for (const u of item.users ?? []) users.add(u);
      for (const g of item.groups ?? []) groups.add(g);
      for (const r of item.roles ?? []) roles.add(r);
    }
  }
  return { users: [...users], groups: [...groups], roles: [...roles] };
}

/** What the server adds to a stored body when it presents a policy. */
export interface PolicyMeta {
  id: number;
  guid: string;
  version: number;
  service: string;
  serviceType: string;
  resourceSignature: string;
  isEnabled: boolean;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A stored policy as Ranger's admin REST returns it (times as epoch millis, like Ranger). */
export function presentPolicy(body: RangerPolicy, meta: PolicyMeta): RangerPolicy {
  return {
    id: meta.id,
    guid: meta.guid,
    isEnabled: meta.isEnabled,
    version: meta.version,
    service: meta.service,
    serviceType: meta.serviceType,
    ...body,
    resourceSignature: meta.resourceSignature,
    createdBy: meta.createdBy ?? undefined,
    updatedBy: meta.updatedBy ?? undefined,
    createTime: meta.createdAt.getTime(),
    updateTime: meta.updatedAt.getTime(),
  };
}
