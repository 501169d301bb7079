import type { RangerPolicy, RangerPolicyItem, RangerServiceDef } from "../../engine/types.ts";

/**
 * One row of an Nx1 bulk upload (docs/nx1-bulk.md): a spreadsheet-friendly description of one
 * or more Ranger policies. Every field accepts what a spreadsheet cell holds: lists as arrays or
 * comma-separated text, booleans as `true`/`yes`/`1`, numbers as text.
 */
export interface PolicyRow {
  name?: unknown;
  description?: unknown;
  catalog?: unknown;
  schemas?: unknown;
  databases?: unknown;
  tables?: unknown;
  columns?: unknown;
  users?: unknown;
  groups?: unknown;
  roles?: unknown;
  accesses?: unknown;
  deny?: unknown;
  policy_type?: unknown;
  mask_type?: unknown;
  row_filter?: unknown;
  priority?: unknown;
  enabled?: unknown;
  labels?: unknown;
  overwrite?: unknown;
  [extra: string]: unknown;
}

/** The PolicyRow fields in template order (also the workbook headers). */
export const POLICY_ROW_FIELDS = [
  "name",
  "description",
  "catalog",
  "schemas",
  "databases",
  "tables",
  "columns",
  "users",
  "groups",
  "roles",
  "accesses",
  "deny",
  "policy_type",
  "mask_type",
  "row_filter",
  "priority",
  "enabled",
  "labels",
  "overwrite",
] as const;

/** Header spellings people use, mapped to PolicyRow fields. */
const ALIASES: Record<string, string> = {
  schema: "schemas",
  database: "databases",
  table: "tables",
  column: "columns",
  user: "users",
  group: "groups",
  role: "roles",
  access: "accesses",
  access_types: "accesses",
  permissions: "accesses",
  type: "policy_type",
  policytype: "policy_type",
  masktype: "mask_type",
  rowfilter: "row_filter",
  filter: "row_filter",
  label: "labels",
  policy_labels: "labels",
  is_enabled: "enabled",
  policy_name: "name",
};

/** Normalises a header (`Policy Type` → `policy_type`) and resolves aliases. */
export function rowKey(header: string): string {
  const key = header
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
  return ALIASES[key] ?? key;
}

/** A policy derived from a row, with the name it got and whether it may replace one. */
export interface DerivedPolicy {
  policy: RangerPolicy;
  overwrite: boolean;
}

/** A row that cannot become a policy: the field and what is wrong, for its result line. */
export class RowError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

function list(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const parts = Array.isArray(value) ? value.map((v) => String(v ?? "")) : String(value).split(/[,;\n]/);
  return parts.map((s) => s.trim()).filter((s) => s !== "");
}

function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === null || value === undefined || value === "") return fallback;
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["true", "yes", "y", "1"].includes(text)) return true;
  if (["false", "no", "n", "0"].includes(text)) return false;
  throw new RowError(field, `\`${String(value)}\` is not a boolean (true/false, yes/no, 1/0)`);
}

function text(value: unknown): string {
  return value === null || value === undefined ? "" : String(value).trim();
}

const TYPES: Record<string, number> = {
  "0": 0,
  access: 0,
  "1": 1,
  masking: 1,
  mask: 1,
  datamask: 1,
  data_mask: 1,
  "2": 2,
  row_filter: 2,
  rowfilter: 2,
  row_filtering: 2,
};

/**
 * Turns one row into Ranger policies for the service-def of the Nx1 service: one policy per
 * schema (or database) it names, called `<name>_<schema>` when it names several. Resources go as
 * deep as the row says: schema, then tables, then columns (masks need columns, row filters
 * tables). Errors name the row's field (`rows[3].accesses`).
 *
 * @throws RowError when the row is unusable as a whole.
 */
export function rowToPolicies(raw: PolicyRow, at: string, def: RangerServiceDef): DerivedPolicy[] {
  const row: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw ?? {})) row[rowKey(k)] = v;
  const names = new Set((def.resources ?? []).map((r) => r.name));
  const name = text(row.name);
  if (!name) throw new RowError(`${at}.name`, "is required");

  const typeText =
    text(row.policy_type)
      .toLowerCase()
      .replace(/[\s-]+/g, "_") || "access";
  const policyType = TYPES[typeText];
  if (policyType === undefined) {
    throw new RowError(`${at}.policy_type`, `\`${text(row.policy_type)}\` is not access, masking or row_filter`);
  }
  const priorityText = text(row.priority).toLowerCase() || "0";
  const policyPriority =
    priorityText === "override" || priorityText === "1"
      ? 1
      : priorityText === "normal" || priorityText === "0"
        ? 0
        : -1;
  if (policyPriority < 0)
    throw new RowError(`${at}.priority`, `\`${text(row.priority)}\` is not normal (0) or override (1)`);

  const schemaKey = names.has("schema") ? "schema" : names.has("database") ? "database" : null;
  if (!schemaKey || !names.has("table")) {
    throw new RowError(at, `PolicyRow describes table resources; service type \`${def.name}\` has none`);
  }
  const schemas = [...list(row.schemas), ...list(row.databases)];
  if (schemas.length === 0) throw new RowError(`${at}.schemas`, "must name at least one schema or database");
  const catalog = text(row.catalog);
  if (names.has("catalog") && !catalog)
    throw new RowError(`${at}.catalog`, `is required for service type \`${def.name}\``);
  const tables = list(row.tables);
  const columns = list(row.columns);
  if (columns.length > 0 && tables.length === 0)
    throw new RowError(`${at}.tables`, "is required when columns are given");
  if (policyType === 1 && columns.length === 0) throw new RowError(`${at}.columns`, "a masking row must name columns");
  if (policyType === 2 && tables.length === 0) throw new RowError(`${at}.tables`, "a row-filter row must name tables");
  if (policyType === 2 && columns.length > 0)
    throw new RowError(`${at}.columns`, "a row-filter row applies to whole tables");

  const principals = { users: list(row.users), groups: list(row.groups), roles: list(row.roles) };
  if (principals.users.length + principals.groups.length + principals.roles.length === 0) {
    throw new RowError(`${at}.users`, "name at least one user, group or role");
  }
  const accesses = (list(row.accesses).length > 0 ? list(row.accesses) : ["select"]).map((type) => ({
    type: type.toLowerCase(),
    isAllowed: true,
  }));
  const deny = bool(row.deny, `${at}.deny`, false);
  if (deny && policyType !== 0) throw new RowError(`${at}.deny`, "only access rows can deny");
  const maskType = text(row.mask_type).toUpperCase();
  if (policyType === 1 && !maskType) throw new RowError(`${at}.mask_type`, "is required for a masking row");
  const rowFilter = text(row.row_filter);
  if (policyType === 2 && !rowFilter) throw new RowError(`${at}.row_filter`, "is required for a row-filter row");

  const item: RangerPolicyItem = { ...principals, accesses };
  const base: RangerPolicy = {
    description: text(row.description),
    policyType,
    policyPriority,
    isEnabled: bool(row.enabled, `${at}.enabled`, true),
    isAuditEnabled: true,
    policyLabels: list(row.labels),
  };
  if (policyType === 0) base[deny ? "denyPolicyItems" : "policyItems"] = [item];
  if (policyType === 1) base.dataMaskPolicyItems = [{ ...item, dataMaskInfo: { dataMaskType: maskType } }];
  if (policyType === 2) base.rowFilterPolicyItems = [{ ...item, rowFilterInfo: { filterExpr: rowFilter } }];
  const overwrite = bool(row.overwrite, `${at}.overwrite`, false);

  return schemas.map((schema) => {
    const resources: RangerPolicy["resources"] = {};
    if (names.has("catalog")) resources.catalog = { values: [catalog] };
    resources[schemaKey] = { values: [schema] };
    if (tables.length > 0) resources.table = { values: tables };
    if (columns.length > 0) resources.column = { values: columns };
    return {
      policy: { ...base, name: schemas.length > 1 ? `${name}_${schema}` : name, resources },
      overwrite,
    };
  });
}
