import { type AuditContext, recordAudit } from "../../audit/audit.service.ts";
import { createGroup, deleteGroup, updateGroup } from "../../directory/groups.service.ts";
import { putMember, removeMember } from "../../directory/members.service.ts";
import { createUser, deleteUser, type UpdateUserInput, updateUser } from "../../directory/users.service.ts";
import {
  fieldError,
  GroupNotEmpty,
  GroupNotFound,
  MemberNotFound,
  UserNotFound,
  ValidationFailed,
} from "../../errors.ts";
import { policiesNaming } from "../../policies/principal-references.ts";
import type { Queryable, Tx } from "../../storage/db.ts";
import type { GroupRow, UserRow } from "../../storage/schema.ts";
import { GROUP_ATTRIBUTES_KEY } from "./xusers.model.ts";
import { findGroup, findGroupUser, findUser } from "./xusers.store.ts";

// Ranger's user, group and group-user writes (XUserMgr) mapped onto the directory's services,
// which validate, write and audit each change in the caller's transaction. What Ranger has and
// Gatehouse does not (portal roles, passwords, a last name) is accepted and not kept.

/** Ranger's `VXUser` as a request body; only these fields are used. */
export interface RangerUserInput {
  name?: string | null | undefined;
  firstName?: string | null | undefined;
  emailAddress?: string | null | undefined;
  status?: number | null | undefined;
  isVisible?: number | null | undefined;
  otherAttributes?: string | null | undefined;
}

/** Ranger's `VXGroup` as a request body; only these fields are used. */
export interface RangerGroupInput {
  name?: string | null | undefined;
  description?: string | null | undefined;
  isVisible?: number | null | undefined;
  otherAttributes?: string | null | undefined;
}

/** Where the entries written come from: the single-entry API (`local`) or usersync's bulk API. */
export type WriteSource = "local" | "ranger-usersync";

/** Ranger's name check (`XUserMgr`): null, blank and the string `null` are not names. */
export function isValidName(name: string | null | undefined): name is string {
  return typeof name === "string" && name.trim() !== "" && name.toLowerCase() !== "null";
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Parses Ranger's `otherAttributes` (a JSON object in a string) or throws 400 naming `field`. */
export function parseOtherAttributes(text: string, field: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw fieldError(ValidationFailed, field, "json", "must be a JSON object in a string");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw fieldError(ValidationFailed, field, "json", "must be a JSON object in a string");
  }
  return parsed as Record<string, unknown>;
}

/** The native changes a Ranger user body asks for; absent and null fields leave the user alone, except `emailAddress: null`, which clears it. */
export function userChanges(body: RangerUserInput, field: string): UpdateUserInput {
  const changes: UpdateUserInput = {};
  if (isValidName(body.firstName)) changes.displayName = body.firstName;
  if (body.emailAddress !== undefined) {
    const email = body.emailAddress === null || body.emailAddress === "" ? null : body.emailAddress;
    if (email !== null && !EMAIL.test(email)) {
      throw fieldError(ValidationFailed, `${field}.emailAddress`, "email", "Please provide valid email address.");
    }
    changes.email = email;
  }
  if (body.status === 0 || body.status === 1) changes.status = body.status === 1 ? "active" : "disabled";
  if (typeof body.otherAttributes === "string" && body.otherAttributes !== "") {
    changes.attributes = parseOtherAttributes(body.otherAttributes, `${field}.otherAttributes`);
  }
  return changes;
}

/** True when `changes` would change `row` (so a repeated usersync push writes and audits nothing). */
function changesUser(row: UserRow, changes: UpdateUserInput): boolean {
  if (changes.displayName !== undefined && changes.displayName !== row.display_name) return true;
  if (changes.email !== undefined && changes.email !== row.email) return true;
  if (changes.status !== undefined && changes.status !== row.status) return true;
  if (changes.attributes !== undefined && !sameJson(changes.attributes, row.attributes)) return true;
  return false;
}

function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(
          Object.keys(value as object)
            .sort()
            .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
        )
      : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Sets Ranger's `isVisible` of a user (the `hidden` column), audited when it changes. */
export async function setUserHidden(tx: Tx, ctx: AuditContext, user: UserRow, hidden: boolean): Promise<void> {
  if (user.hidden === hidden) return;
  await tx.updateTable("users").set({ hidden, updated_at: new Date() }).where("id", "=", user.id).execute();
  await recordAudit(tx, ctx, {
    action: "user.visibility_changed",
    targetType: "user",
    targetId: user.id,
    orgId: user.org_id,
    before: { hidden: user.hidden },
    after: { hidden },
  });
}

/** Sets Ranger's `isVisible` of a group (the `hidden` column), audited when it changes. */
export async function setGroupHidden(tx: Tx, ctx: AuditContext, group: GroupRow, hidden: boolean): Promise<void> {
  if (group.hidden === hidden) return;
  await tx.updateTable("groups").set({ hidden, updated_at: new Date() }).where("id", "=", group.id).execute();
  await recordAudit(tx, ctx, {
    action: "group.visibility_changed",
    targetType: "group",
    targetId: group.id,
    orgId: group.org_id,
    before: { hidden: group.hidden },
    after: { hidden },
  });
}

async function userByNum(db: Queryable, orgId: string, num: number): Promise<UserRow> {
  const user = await findUser(db, orgId, { num });
  if (!user) throw fieldError(UserNotFound, "path.id", "exists", `user ${num} not found`);
  return user;
}

async function groupByNum(db: Queryable, orgId: string, num: number): Promise<GroupRow> {
  const group = await findGroup(db, orgId, { num });
  if (!group) throw fieldError(GroupNotFound, "path.id", "exists", `group ${num} not found`);
  return group;
}

/**
 * Ranger's secure user creation (`POST /secure/users`): a name and a first name are required, and
 * an existing name (compared case-insensitively, as Gatehouse's usernames) is a 400 "already exists".
 */
export async function createRangerUser(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerUserInput,
  source: WriteSource,
  field = "body",
): Promise<string> {
  if (!isValidName(body.name)) {
    throw fieldError(ValidationFailed, `${field}.name`, "required", "Please provide a valid username.");
  }
  if (!isValidName(body.firstName)) {
    throw fieldError(ValidationFailed, `${field}.firstName`, "required", "Please provide a valid first name.");
  }
  const existing = await findUser(tx, orgId, { name: body.name });
  if (existing) throw fieldError(ValidationFailed, `${field}.name`, "unique", `${body.name} already exists`);
  return insertUser(tx, ctx, orgId, { ...body, name: body.name }, source, field);
}

async function insertUser(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerUserInput & { name: string },
  source: WriteSource,
  field: string,
): Promise<string> {
  const changes = userChanges(body, field);
  const view = await createUser(tx, ctx, { ...changes, orgId, username: body.name, source });
  if (body.isVisible === 0) {
    const row = await tx.selectFrom("users").where("id", "=", view.id).selectAll().executeTakeFirstOrThrow();
    await setUserHidden(tx, ctx, row, true);
  }
  return view.id;
}

/**
 * Ranger's create-or-update of a user by name (`POST /users`, usersync's `ugsync/users`): an
 * existing user is updated (only when something changes, so a repeated push writes and audits
 * nothing) and keeps its source; a new one is created with `source`.
 */
export async function upsertRangerUser(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerUserInput & { name: string },
  source: WriteSource,
  existing: UserRow | undefined,
  field = "body",
): Promise<string> {
  if (!existing) return insertUser(tx, ctx, orgId, body, source, field);
  const changes = userChanges(body, field);
  if (changesUser(existing, changes)) await updateUser(tx, ctx, existing.id, changes);
  if (body.isVisible === 0 || body.isVisible === 1) await setUserHidden(tx, ctx, existing, body.isVisible === 0);
  return existing.id;
}

/**
 * Ranger's user update by id (`PUT /secure/users/{id}`). Ranger names users by their login, which
 * cannot change: another `name` is a 400.
 */
export async function updateRangerUser(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  num: number,
  body: RangerUserInput,
): Promise<string> {
  const user = await userByNum(tx, orgId, num);
  if (isValidName(body.name) && body.name !== user.username) {
    throw fieldError(ValidationFailed, "body.name", "immutable", "user name updates are not allowed.");
  }
  return upsertRangerUser(tx, ctx, orgId, { ...body, name: user.username }, "local", user);
}

/** Roles a user or group is bound to, which block its deletion as Ranger's `blockIfRoleUser` does. */
async function bindingRoles(db: Queryable, type: "user" | "group", id: string): Promise<string[]> {
  const rows = await db
    .selectFrom("role_bindings as b")
    .innerJoin("roles as r", "r.id", "b.role_id")
    .where("b.principal_type", "=", type)
    .where("b.principal_id", "=", id)
    .select("r.name")
    .distinct()
    .execute();
  return rows.map((r) => r.name).sort();
}

function blockedByRoles(kind: "user" | "group", name: string, roles: string[]) {
  return fieldError(
    ValidationFailed,
    "path.id",
    "roleMember",
    `Can Not Delete ${kind}: '${name}' as its present in roles : ${roles.join(",")}`,
    { roles },
  );
}

/** What a Ranger delete did: Ranger hides an entry that something still refers to instead of deleting it. */
export type DeleteOutcome = "deleted" | "hidden";

/**
 * Ranger's user delete (`DELETE /users/{id}?forceDelete=`, XUserMgr.deleteXUser): a user bound to
 * a role is never deleted (400, Ranger's `blockIfRoleUser`); without `forceDelete` a user that is
 * still a group member or named by a policy is hidden (`isVisible` 0) instead; otherwise the user
 * is deleted with its memberships, each removal audited. Policy items naming the user are left as
 * they are (Ranger removes the name from them): a name that matches no user grants nothing.
 */
export async function deleteRangerUser(
  tx: Tx,
  ctx: AuditContext,
  user: UserRow,
  force: boolean,
): Promise<DeleteOutcome> {
  const roles = await bindingRoles(tx, "user", user.id);
  if (roles.length > 0) throw blockedByRoles("user", user.username, roles);
  if (!force) {
    const memberships = await tx
      .selectFrom("group_members")
      .where("user_id", "=", user.id)
      .select("group_id")
      .limit(1)
      .execute();
    if (memberships.length > 0 || (await policiesNaming(tx, "user", user.username)).length > 0) {
      await setUserHidden(tx, ctx, user, true);
      return "hidden";
    }
  }
  await deleteUser(tx, ctx, user.id, true); // Ranger forceDelete: the policies lose the name too
  return "deleted";
}

/** Looks a user up by its Ranger number for a delete; USER_NOT_FOUND (404) otherwise. */
export const requireUser = userByNum;
/** Looks a group up by its Ranger number; GROUP_NOT_FOUND (404) otherwise. */
export const requireGroup = groupByNum;

/** The native metadata a Ranger group body asks for: `otherAttributes` kept under `rangerAttributes`. */
function groupMetadata(
  current: Record<string, unknown>,
  body: RangerGroupInput,
  field: string,
): Record<string, unknown> | undefined {
  if (typeof body.otherAttributes !== "string" || body.otherAttributes === "") return undefined;
  const attributes = parseOtherAttributes(body.otherAttributes, `${field}.otherAttributes`);
  if (sameJson(current[GROUP_ATTRIBUTES_KEY], attributes)) return undefined;
  return { ...current, [GROUP_ATTRIBUTES_KEY]: attributes };
}

/**
 * Ranger's secure group creation (`POST /secure/groups`): an existing name is a 400
 * "XGroup already exists"; the description defaults to the name, as Ranger's.
 */
export async function createRangerGroup(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerGroupInput,
  source: WriteSource,
  field = "body",
): Promise<string> {
  if (!isValidName(body.name)) {
    throw fieldError(ValidationFailed, `${field}.name`, "required", "Please provide a valid group name.");
  }
  if (await findGroup(tx, orgId, { name: body.name })) {
    throw fieldError(ValidationFailed, `${field}.name`, "unique", "XGroup already exists");
  }
  return insertGroup(tx, ctx, orgId, { ...body, name: body.name }, source, field);
}

/** The native fields of a new group from a Ranger group body: its `otherAttributes` as metadata. */
export function groupFields(body: RangerGroupInput, field: string): { metadata?: Record<string, unknown> } {
  const metadata = groupMetadata({}, body, field);
  return metadata ? { metadata } : {};
}

async function insertGroup(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerGroupInput & { name: string },
  source: WriteSource,
  field: string,
): Promise<string> {
  const metadata = groupMetadata({}, body, field);
  const view = await createGroup(tx, ctx, {
    orgId,
    name: body.name,
    description: body.description ?? body.name,
    source,
    creatorBecomesOwner: false,
    ...(metadata ? { metadata } : {}),
  });
  if (body.isVisible === 0) {
    const row = await tx.selectFrom("groups").where("id", "=", view.id).selectAll().executeTakeFirstOrThrow();
    await setGroupHidden(tx, ctx, row, true);
  }
  return view.id;
}

/**
 * Ranger's create-or-update of a group by name (`POST /groups`, usersync's `ugsync/groups`): an
 * existing group gets the description, visibility and attributes given (written only when they
 * change) and keeps its source; a new one is created with `source`.
 */
export async function upsertRangerGroup(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerGroupInput & { name: string },
  source: WriteSource,
  existing: GroupRow | undefined,
  field = "body",
): Promise<string> {
  if (!existing) return insertGroup(tx, ctx, orgId, body, source, field);
  const metadata = groupMetadata(existing.metadata ?? {}, body, field);
  const description =
    typeof body.description === "string" && body.description !== existing.description ? body.description : undefined;
  if (metadata || description !== undefined) {
    await updateGroup(tx, ctx, existing.id, {
      ...(metadata ? { metadata } : {}),
      ...(description !== undefined ? { description } : {}),
    });
  }
  if (body.isVisible === 0 || body.isVisible === 1) await setGroupHidden(tx, ctx, existing, body.isVisible === 0);
  return existing.id;
}

/** Ranger's group update by id (`PUT /secure/groups/{id}`): "group name updates are not allowed." */
export async function updateRangerGroup(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  num: number,
  body: RangerGroupInput,
): Promise<string> {
  const group = await groupByNum(tx, orgId, num);
  if (isValidName(body.name) && body.name !== group.name) {
    throw fieldError(ValidationFailed, "body.name", "immutable", "group name updates are not allowed.");
  }
  return upsertRangerGroup(tx, ctx, orgId, { ...body, name: group.name }, "local", group);
}

/**
 * Ranger's group delete (`DELETE /groups/{id}?forceDelete=`, XUserMgr.deleteXGroup): a group bound
 * to a role is never deleted (400); without `forceDelete` a group with members, subgroups or
 * policies naming it is hidden instead; with it the group is deleted with its memberships, each
 * removal audited. Ranger's groups are flat: a Gatehouse group with subgroups is not deleted by
 * this API even when forced (409 `GROUP_NOT_EMPTY`; delete or move them through `/v1/groups`).
 */
export async function deleteRangerGroup(
  tx: Tx,
  ctx: AuditContext,
  group: GroupRow,
  force: boolean,
): Promise<DeleteOutcome> {
  const roles = await bindingRoles(tx, "group", group.id);
  if (roles.length > 0) throw blockedByRoles("group", group.name, roles);
  const children = await tx.selectFrom("groups").where("parent_id", "=", group.id).select("name").execute();
  if (!force) {
    const members = await tx
      .selectFrom("group_members")
      .where("group_id", "=", group.id)
      .select("user_id")
      .limit(1)
      .execute();
    if (children.length > 0 || members.length > 0 || (await policiesNaming(tx, "group", group.name)).length > 0) {
      await setGroupHidden(tx, ctx, group, true);
      return "hidden";
    }
  }
  if (children.length > 0) {
    throw fieldError(
      GroupNotEmpty,
      "path.id",
      "noSubgroups",
      `group \`${group.name}\` has subgroups (${children.map((c) => c.name).join(", ")}); delete or move them through /v1/groups first`,
    );
  }
  await deleteGroup(tx, ctx, group.id, true);
  return "deleted";
}

/** Ranger's `VXGroupUser` as a request body: `name` is the group's name, `userId` the user's number. */
export interface RangerGroupUserInput {
  id?: number | null | undefined;
  name?: string | null | undefined;
  userId?: number | null | undefined;
}

async function groupAndUser(tx: Tx, orgId: string, body: RangerGroupUserInput) {
  if (!isValidName(body.name) || body.userId === undefined || body.userId === null) {
    throw fieldError(ValidationFailed, "body.name", "required", "Group name or UserId is empty or null");
  }
  const group = await findGroup(tx, orgId, { name: body.name });
  if (!group) throw fieldError(GroupNotFound, "body.name", "exists", `Group not found: ${body.name}`);
  const user = await findUser(tx, orgId, { num: body.userId });
  if (!user) throw fieldError(UserNotFound, "body.userId", "exists", `User not found with ID: ${body.userId}`);
  return { group, user };
}

/** Adds a user to a group unless it is a direct member already (an owner stays an owner). */
async function ensureMember(tx: Tx, ctx: AuditContext, groupId: string, userId: string): Promise<number> {
  const current = await tx
    .selectFrom("group_members")
    .where("group_id", "=", groupId)
    .where("user_id", "=", userId)
    .select("num")
    .executeTakeFirst();
  if (current) return current.num;
  await putMember(tx, ctx, groupId, userId, "member");
  const added = await tx
    .selectFrom("group_members")
    .where("group_id", "=", groupId)
    .where("user_id", "=", userId)
    .select("num")
    .executeTakeFirstOrThrow();
  return added.num;
}

/** Ranger's group-user creation (`POST /groupusers`): adds the membership, or leaves an existing one (upsert). */
export async function createRangerGroupUser(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerGroupUserInput,
): Promise<number> {
  const { group, user } = await groupAndUser(tx, orgId, body);
  return ensureMember(tx, ctx, group.id, user.id);
}

/**
 * Ranger's group-user update (`PUT /groupusers`): the membership `id` (when given) becomes the
 * membership of user `userId` in group `name`: the old one is removed and the new one added when
 * they differ.
 */
export async function updateRangerGroupUser(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  body: RangerGroupUserInput,
): Promise<number> {
  const { group, user } = await groupAndUser(tx, orgId, body);
  if (body.id !== undefined && body.id !== null) {
    const current = await findGroupUser(tx, orgId, body.id);
    if (!current) {
      throw fieldError(MemberNotFound, "body.id", "exists", `Group-User mapping not found with ID: ${body.id}`);
    }
    if (current.group_num === group.num && current.user_num === user.num) return current.num;
    const old = await tx
      .selectFrom("group_members")
      .where("num", "=", current.num)
      .select(["group_id", "user_id"])
      .executeTakeFirstOrThrow();
    await removeMember(tx, ctx, old.group_id, old.user_id);
  }
  return ensureMember(tx, ctx, group.id, user.id);
}

/** Ranger's group-user delete by id (`DELETE /groupusers/{id}`, always forced). */
export async function deleteRangerGroupUser(tx: Tx, ctx: AuditContext, orgId: string, num: number): Promise<void> {
  const current = await findGroupUser(tx, orgId, num);
  if (!current) throw fieldError(MemberNotFound, "path.id", "exists", `group user ${num} not found`);
  const row = await tx
    .selectFrom("group_members")
    .where("num", "=", num)
    .select(["group_id", "user_id"])
    .executeTakeFirstOrThrow();
  await removeMember(tx, ctx, row.group_id, row.user_id);
}
