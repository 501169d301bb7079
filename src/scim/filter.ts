import { type RawBuilder, sql } from "kysely";
import { type Filter, parse } from "scim2-parse-filter";
import { ValidationFailed } from "../errors.ts";
import { scimFail } from "./errors.ts";
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from "./schemas.ts";

/** Longest `filter` accepted, in characters: real providers send one or two comparisons. */
export const FILTER_MAX = 4096;

type Cond = RawBuilder<boolean>;
type Value = boolean | null | number | string;
const FIELD = "query.filter";

/** How one SCIM attribute is read in SQL. */
type Column =
  | { kind: "text"; expr: RawBuilder<unknown>; caseExact: boolean }
  | { kind: "time"; expr: RawBuilder<unknown> }
  | { kind: "bool"; expr: RawBuilder<unknown> }
  /** A multi-valued attribute: `exists` over its values, each sub-attribute a column of `e`. */
  | {
      kind: "multi";
      exists: (inner: (sub: string) => Column | null, cond: Cond) => Cond;
      sub: (s: string) => Column | null;
      defaultSub: string;
    };

function invalid(problem: string): never {
  throw scimFail(ValidationFailed, "invalidFilter", FIELD, problem);
}

const text = (expr: RawBuilder<unknown>, caseExact = false): Column => ({ kind: "text", expr, caseExact });
/** A text attribute stored in the user's SCIM attributes (`users.attributes.scim`), by JSON path. */
const stored = (path: string[], caseExact = false): Column =>
  text(sql`(u.attributes #>> ${["scim", ...path]}::text[])`, caseExact);

/** Elements of a JSON array kept in `users.attributes.scim`, tolerating a missing or non-array value. */
function storedArray(key: string): RawBuilder<unknown> {
  return sql`jsonb_array_elements(case when jsonb_typeof(u.attributes #> ${["scim", key]}::text[]) = 'array'
    then u.attributes #> ${["scim", key]}::text[] else '[]'::jsonb end)`;
}

function storedMulti(key: string, subs: Record<string, Column>, defaultSub = "value"): Column {
  const sub = (s: string) => subs[s] ?? null;
  return {
    kind: "multi",
    sub,
    defaultSub,
    exists: (_inner, cond) => sql<boolean>`exists (select 1 from ${storedArray(key)} as e where ${cond})`,
  };
}

const elementText = (name: string, caseExact = false) => text(sql`(e.value ->> ${name})`, caseExact);
const elementBool = (name: string): Column => ({ kind: "bool", expr: sql`(e.value ->> ${name})::boolean` });
const TYPED_MULTI = {
  value: elementText("value"),
  type: elementText("type"),
  primary: elementBool("primary"),
  display: elementText("display"),
};

const ENTERPRISE_TEXT = ["employeeNumber", "costCenter", "organization", "division", "department"];
const NAME_PARTS = ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"];
const USER_TEXT = ["nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone"];

/** SCIM User attributes (lowercase paths, schema URN removed) → SQL over `users as u`. */
function userColumn(path: string): Column | null {
  switch (path) {
    case "id":
      return text(sql`u.id::text`, true);
    case "externalid":
      return text(sql`u.external_id`, true);
    case "username":
      return text(sql`u.username`);
    case "displayname":
      return text(sql`u.display_name`);
    case "active":
      return { kind: "bool", expr: sql`(u.status = 'active')` };
    case "meta.created":
      return { kind: "time", expr: sql`u.created_at` };
    case "meta.lastmodified":
      return { kind: "time", expr: sql`u.updated_at` };
    case "emails":
      return {
        kind: "multi",
        sub: (s) => (TYPED_MULTI as Record<string, Column>)[s] ?? null,
        defaultSub: "value",
        // users written outside SCIM have only `users.email`: it counts as a work email
        exists: (_inner, cond) =>
          sql<boolean>`exists (select 1 from (select * from ${storedArray("emails")} union all
            select jsonb_build_object('value', u.email, 'type', 'work', 'primary', true)
            where u.email is not null and u.attributes #> '{scim,emails}' is null) as e(value) where ${cond})`,
      };
    case "phonenumbers":
      return storedMulti("phoneNumbers", TYPED_MULTI);
    case "groups":
      return {
        kind: "multi",
        sub: (s) => (s === "value" ? text(sql`gm.group_id::text`, true) : s === "display" ? text(sql`gg.name`) : null),
        defaultSub: "value",
        exists: (_inner, cond) =>
          sql<boolean>`exists (select 1 from group_members gm join groups gg on gg.id = gm.group_id
            where gm.user_id = u.id and ${cond})`,
      };
    default:
      break;
  }
  if (path.startsWith("name.")) {
    const part = NAME_PARTS.find((p) => p.toLowerCase() === path.slice(5));
    return part ? stored(["name", part]) : null;
  }
  const plain = USER_TEXT.find((p) => p.toLowerCase() === path);
  if (plain) return stored([plain]);
  const ext = `${ENTERPRISE_USER.toLowerCase()}:`;
  if (path.startsWith(ext)) {
    const rest = path.slice(ext.length);
    const attr = ENTERPRISE_TEXT.find((p) => p.toLowerCase() === rest);
    if (attr) return stored([ENTERPRISE_USER, attr]);
    if (rest === "manager" || rest === "manager.value") return stored([ENTERPRISE_USER, "manager", "value"], true);
  }
  return null;
}

/** SCIM Group attributes → SQL over `groups as g`. */
function groupColumn(path: string): Column | null {
  switch (path) {
    case "id":
      return text(sql`g.id::text`, true);
    case "externalid":
      return text(sql`g.external_id`, true);
    case "displayname":
      return text(sql`g.name`);
    case "meta.created":
      return { kind: "time", expr: sql`g.created_at` };
    case "meta.lastmodified":
      return { kind: "time", expr: sql`g.updated_at` };
    case "members":
      return {
        kind: "multi",
        sub: (s) =>
          s === "value"
            ? text(sql`m.user_id::text`, true)
            : s === "type"
              ? text(sql`'User'`)
              : s === "display"
                ? text(sql`(select username from users mu where mu.id = m.user_id)`)
                : null,
        defaultSub: "value",
        exists: (_inner, cond) =>
          sql<boolean>`exists (select 1 from group_members m where m.group_id = g.id and ${cond})`,
      };
    default:
      return null;
  }
}

/** Removes the core schema URN an attribute path may carry, and lowercases it (SCIM names ignore case). */
function normalisePath(attrPath: string, core: string): string {
  const lower = attrPath.toLowerCase();
  const prefix = `${core.toLowerCase()}:`;
  return lower.startsWith(prefix) ? lower.slice(prefix.length) : lower;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function compareText(
  col: { expr: RawBuilder<unknown>; caseExact: boolean },
  op: string,
  value: Value,
  attr: string,
): Cond {
  if (op === "pr") return sql<boolean>`(${col.expr} is not null and ${col.expr} <> '')`;
  if (value === null) {
    if (op === "eq") return sql<boolean>`(${col.expr} is null)`;
    if (op === "ne") return sql<boolean>`(${col.expr} is not null)`;
    invalid(`\`${attr} ${op} null\`: only \`eq\` and \`ne\` compare with null`);
  }
  if (typeof value !== "string") invalid(`\`${attr}\` is a string: compare it with a quoted value`);
  // case-insensitive attributes compare lower() on both sides, as the unique indexes do
  const e = col.caseExact ? col.expr : sql`lower(${col.expr})`;
  const v = (pattern: string) => (col.caseExact ? sql`${pattern}` : sql`lower(${pattern})`);
  switch (op) {
    case "eq":
      return sql<boolean>`(${e} = ${v(value)})`;
    case "ne":
      return sql<boolean>`(${col.expr} is null or ${e} <> ${v(value)})`;
    case "co":
      return sql<boolean>`(${e} like ${v(`%${escapeLike(value)}%`)})`;
    case "sw":
      return sql<boolean>`(${e} like ${v(`${escapeLike(value)}%`)})`;
    case "ew":
      return sql<boolean>`(${e} like ${v(`%${escapeLike(value)}`)})`;
    case "gt":
      return sql<boolean>`(${e} > ${v(value)})`;
    case "ge":
      return sql<boolean>`(${e} >= ${v(value)})`;
    case "lt":
      return sql<boolean>`(${e} < ${v(value)})`;
    case "le":
      return sql<boolean>`(${e} <= ${v(value)})`;
    default:
      return invalid(`operator \`${op}\` is not a scim comparison`);
  }
}

const ORDER_OPS: Record<string, string> = { eq: "=", ne: "<>", gt: ">", ge: ">=", lt: "<", le: "<=" };

function compareTime(expr: RawBuilder<unknown>, op: string, value: Value, attr: string): Cond {
  if (op === "pr") return sql<boolean>`(${expr} is not null)`;
  const symbol = ORDER_OPS[op];
  if (!symbol) invalid(`\`${attr}\` is a date-time: use eq, ne, gt, ge, lt, le or pr, not \`${op}\``);
  if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
    invalid(`\`${attr}\` is a date-time: compare it with an ISO 8601 value such as "2026-01-02T03:04:05Z"`);
  }
  return sql<boolean>`(${expr} ${sql.raw(symbol)} ${new Date(value).toISOString()}::timestamptz)`;
}

function compareBool(expr: RawBuilder<unknown>, op: string, value: Value, attr: string): Cond {
  if (op === "pr") return sql<boolean>`(${expr} is not null)`;
  // Entra ID sends booleans as strings elsewhere; accept "true"/"false" here too
  const b = typeof value === "string" ? { true: true, false: false }[value.toLowerCase()] : value;
  if (typeof b !== "boolean" || (op !== "eq" && op !== "ne")) {
    invalid(`\`${attr}\` is a boolean: use \`eq true\`, \`eq false\`, \`ne\` or \`pr\``);
  }
  return op === "eq" ? sql<boolean>`(${expr} = ${b})` : sql<boolean>`(${expr} is distinct from ${b})`;
}

function compare(col: Column, op: string, value: Value, attr: string): Cond {
  switch (col.kind) {
    case "text":
      return compareText(col, op, value, attr);
    case "time":
      return compareTime(col.expr, op, value, attr);
    case "bool":
      return compareBool(col.expr, op, value, attr);
    case "multi": {
      const sub = col.sub(col.defaultSub);
      if (!sub) return invalid(`\`${attr}\` cannot be compared`);
      return col.exists(col.sub, compare(sub, op, value, attr));
    }
  }
}

type Resolver = (path: string) => Column | null;

function compile(node: Filter, resolve: Resolver, core: string): Cond {
  switch (node.op) {
    case "and":
    case "or": {
      const parts = (node as { filters: Filter[] }).filters.map((f) => compile(f, resolve, core));
      return sql<boolean>`(${sql.join(parts, sql.raw(` ${node.op} `))})`;
    }
    case "not":
      return sql<boolean>`(not coalesce(${compile((node as { filter: Filter }).filter, resolve, core)}, false))`;
    case "[]": {
      const { attrPath, valFilter } = node as { attrPath: string; valFilter: Filter };
      const col = resolve(normalisePath(attrPath, core));
      if (col?.kind !== "multi") invalid(`\`${attrPath}[...]\`: only multi-valued attributes take a value filter`);
      const inner = compile(valFilter, (p) => col.sub(p), core);
      return col.exists(col.sub, inner);
    }
    default: {
      const { attrPath, compValue } = node as { attrPath: string; compValue?: Value };
      const path = normalisePath(attrPath, core);
      const dot = path.lastIndexOf(".");
      const col = resolve(path);
      // `emails.value`, `members.value`: a sub-attribute of a multi-valued attribute
      if (!col && dot > 0 && !path.startsWith("urn:")) {
        const parent = resolve(path.slice(0, dot));
        if (parent?.kind === "multi") {
          const sub = parent.sub(path.slice(dot + 1));
          if (sub) return parent.exists(parent.sub, compare(sub, node.op, compValue ?? null, attrPath));
        }
      }
      if (!col) return invalid(`attribute \`${attrPath}\` cannot be filtered on`);
      // no coalesce here: the bare comparison lets the planner use an index (`not` coalesces its operand)
      return compare(col, node.op, compValue ?? null, attrPath);
    }
  }
}

/**
 * Compiles a SCIM filter (RFC 7644 §3.4.2.2) into a SQL condition over `users as u` or
 * `groups as g`, so the database does the filtering with its indexes: `userName eq "x"` becomes
 * `lower(u.username) = lower($1)`, which the unique index `(org_id, lower(username))` answers.
 * `scim2-parse-filter` parses; attribute names ignore case and may carry their schema URN.
 *
 * @throws VALIDATION_FAILED with scimType `invalidFilter` naming what is wrong.
 */
export function filterToSql(filter: string, resource: "User" | "Group"): Cond {
  if (filter.length > FILTER_MAX) invalid(`must be at most ${FILTER_MAX} characters`);
  let ast: Filter;
  try {
    ast = parse(filter);
  } catch (err) {
    return invalid(`\`${filter.slice(0, 64)}\` is not a valid scim filter: ${(err as Error).message}`);
  }
  return resource === "User" ? compile(ast, userColumn, CORE_USER) : compile(ast, groupColumn, CORE_GROUP);
}
