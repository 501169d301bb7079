import { createHash } from "node:crypto";
import { ValidationFailed } from "../errors.ts";
import type { GroupRow, UserRow } from "../storage/schema.ts";
import { scimFail } from "./errors.ts";
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from "./schemas.ts";

/** A SCIM resource as JSON. */
export type ScimResource = Record<string, unknown>;

/** The native fields a SCIM User sets, and what else of it is kept (`users.attributes.scim`). */
export interface UserFields {
  username: string;
  externalId: string | null;
  displayName: string | null;
  email: string | null;
  active: boolean;
  /** Every other attribute as sent (name, phoneNumbers, the enterprise extension, ...), never `password`. */
  scim: Record<string, unknown>;
}

/** Attributes a client cannot set: the server's own, or the read-only `groups`. */
const READ_ONLY = new Set(["id", "meta", "groups", "schemas"]);
/** Core User attributes Gatehouse maps onto its own columns, by lowercase name. */
const MAPPED = ["userName", "externalId", "displayName", "active", "password"];

/**
 * SCIM's booleans as identity providers send them: JSON booleans, and Entra ID's strings
 * `"True"`/`"False"` (without its `aadOptscim062020` flag). Anything else is refused.
 */
export function scimBoolean(value: unknown, field: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
  }
  throw scimFail(ValidationFailed, "invalidValue", field, "must be a boolean (true or false)");
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw scimFail(ValidationFailed, "invalidValue", field, "must be a string");
  return value;
}

/** The key of `body` that names `name`, ignoring case (SCIM attribute names are case-insensitive). */
function keyOf(body: Record<string, unknown>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(body).find((k) => k.toLowerCase() === lower);
}

/** The primary email's value, else the first one's. */
function primaryEmail(emails: unknown, field: string): string | null {
  if (emails === undefined || emails === null) return null;
  if (!Array.isArray(emails)) throw scimFail(ValidationFailed, "invalidValue", field, "must be an array of emails");
  for (const [i, e] of emails.entries()) {
    if (typeof e !== "object" || e === null || typeof (e as { value?: unknown }).value !== "string") {
      throw scimFail(ValidationFailed, "invalidValue", `${field}[${i}].value`, "must be a string");
    }
  }
  const list = emails as { value: string; primary?: unknown }[];
  const primary = list.find((e) => e.primary === true || String(e.primary).toLowerCase() === "true");
  return (primary ?? list[0])?.value ?? null;
}

/**
 * Reads a SCIM User body (POST, PUT, or the result of a PATCH) into native fields. `userName` is
 * required; read-only attributes are ignored as RFC 7644 §3.3 allows; `password` is never kept.
 *
 * @throws VALIDATION_FAILED (scimType invalidValue / invalidSyntax) naming the field.
 */
export function userFieldsOf(body: unknown, field = "body"): UserFields {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw scimFail(ValidationFailed, "invalidSyntax", field, "must be a SCIM User object");
  }
  const input = body as Record<string, unknown>;
  const get = (name: string) => {
    const key = keyOf(input, name);
    return key === undefined ? undefined : input[key];
  };
  const username = get("userName");
  if (typeof username !== "string" || username.trim() === "") {
    throw scimFail(ValidationFailed, "invalidValue", `${field}.userName`, "is required and must be a non-empty string");
  }
  const active = get("active");
  const scim: Record<string, unknown> = {};
  const skip = new Set([...READ_ONLY, ...MAPPED.map((m) => m.toLowerCase())]);
  for (const [key, value] of Object.entries(input)) {
    if (skip.has(key.toLowerCase()) || value === undefined) continue;
    // extension attributes arrive under their schema URN; the URN's case is kept canonical
    scim[key.toLowerCase() === ENTERPRISE_USER.toLowerCase() ? ENTERPRISE_USER : key] = value;
  }
  const emailsKey = keyOf(scim, "emails");
  return {
    username,
    externalId: optionalString(get("externalId"), `${field}.externalId`),
    displayName: optionalString(get("displayName"), `${field}.displayName`),
    email: emailsKey ? primaryEmail(scim[emailsKey], `${field}.emails`) : null,
    active: active === undefined || active === null ? true : scimBoolean(active, `${field}.active`),
    scim,
  };
}

/** The SCIM fields of a Group body: its name, external id and member user ids. */
export interface GroupFields {
  displayName: string;
  externalId: string | null;
  /** Member user ids; undefined when the body has no `members`. */
  members: string[] | undefined;
}

/** Reads the members list of a Group body: `[{value: id}]`, ids of users. */
export function memberIdsOf(members: unknown, field: string): string[] {
  if (members === null || members === undefined) return [];
  const list = Array.isArray(members) ? members : [members];
  return list.map((m, i) => {
    const value = typeof m === "object" && m !== null ? (m as { value?: unknown }).value : m;
    if (typeof value !== "string" || value === "") {
      throw scimFail(ValidationFailed, "invalidValue", `${field}[${i}].value`, "must be the id of a user");
    }
    const type = typeof m === "object" && m !== null ? (m as { type?: unknown }).type : undefined;
    if (typeof type === "string" && type.toLowerCase() === "group") {
      throw scimFail(
        ValidationFailed,
        "invalidValue",
        `${field}[${i}].type`,
        "nested groups are not supported: members must be users",
      );
    }
    return value;
  });
}

/** Reads a SCIM Group body into native fields. */
export function groupFieldsOf(body: unknown, field = "body"): GroupFields {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw scimFail(ValidationFailed, "invalidSyntax", field, "must be a SCIM Group object");
  }
  const input = body as Record<string, unknown>;
  const get = (name: string) => {
    const key = keyOf(input, name);
    return key === undefined ? undefined : input[key];
  };
  const displayName = get("displayName");
  if (typeof displayName !== "string" || displayName.trim() === "") {
    throw scimFail(
      ValidationFailed,
      "invalidValue",
      `${field}.displayName`,
      "is required and must be a non-empty string",
    );
  }
  const members = get("members");
  return {
    displayName,
    externalId: optionalString(get("externalId"), `${field}.externalId`),
    members: members === undefined ? undefined : memberIdsOf(members, `${field}.members`),
  };
}

/** `W/"..."`: a digest of what the resource says, so any change (a member too) makes a new version. */
export function versionOf(content: unknown): string {
  return `W/"${createHash("sha256").update(JSON.stringify(content)).digest("base64url").slice(0, 22)}"`;
}

/** A user's SCIM attributes kept beside the native fields. */
export function storedScim(row: Pick<UserRow, "attributes">): Record<string, unknown> {
  const scim = (row.attributes as { scim?: unknown }).scim;
  return typeof scim === "object" && scim !== null && !Array.isArray(scim) ? (scim as Record<string, unknown>) : {};
}

/**
 * A directory user as a SCIM User. `groups` (read-only) lists its direct groups when given.
 * A user written outside SCIM shows its `email` as its one work email.
 */
export function presentUser(row: UserRow, base: string, groups?: { id: string; name: string }[]): ScimResource {
  const scim = storedScim(row);
  const body: ScimResource = {
    schemas: ENTERPRISE_USER in scim ? [CORE_USER, ENTERPRISE_USER] : [CORE_USER],
    id: row.id,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    userName: row.username,
    ...(row.display_name !== null ? { displayName: row.display_name } : {}),
    ...scim,
    ...(!("emails" in scim) && row.email ? { emails: [{ value: row.email, type: "work", primary: true }] } : {}),
    active: row.status === "active",
  };
  const version = versionOf([body, row.updated_at.toISOString()]);
  if (groups) {
    body.groups = groups.map((g) => ({ value: g.id, display: g.name, $ref: `${base}/Groups/${g.id}`, type: "direct" }));
  }
  body.meta = {
    resourceType: "User",
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location: `${base}/Users/${row.id}`,
    version,
  };
  return body;
}

/** A directory group as a SCIM Group; `members` when loaded (left out by `excludedAttributes=members`). */
export function presentGroup(
  row: GroupRow,
  base: string,
  membersDigest: string,
  members?: { id: string; username: string }[],
): ScimResource {
  const body: ScimResource = {
    schemas: [CORE_GROUP],
    id: row.id,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    displayName: row.name,
  };
  if (members) {
    body.members = members.map((m) => ({
      value: m.id,
      display: m.username,
      type: "User",
      $ref: `${base}/Users/${m.id}`,
    }));
  }
  body.meta = {
    resourceType: "Group",
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location: `${base}/Groups/${row.id}`,
    version: versionOf([row.name, row.external_id, row.updated_at.toISOString(), membersDigest]),
  };
  return body;
}
