import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { type AuditContext, auditRow, recordAudit, recordAuditMany } from "../audit/audit.service.ts";
import { ReferenceNotFound, UserNotFound, UsernameTaken, ValidationFailed } from "../errors.ts";
import { normaliseName, visibleName } from "../http/names.ts";
import { releasePrincipal } from "../policies/principal-references.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import type { UserRow } from "../storage/schema.ts";
import { fail, isForeignKeyViolation, isUniqueViolation } from "./fail.ts";
import { presentRoleBinding, presentUser, type UserView } from "./present.ts";

/** Longest username, in characters (code points): the API's limit, and what its unique index can hold. */
export const USERNAME_MAX = 255;

/**
 * The spelling a username is stored under (`visibleName`), refused past `USERNAME_MAX`: routes
 * without the native schema (Ranger's user API, usersync, SCIM) reach the store through here, and a
 * 10,000-character name must be a 400 naming the field, not an index error.
 */
export function storedUsername(name: string, field: string): string {
  const length = [...name].length;
  if (length > USERNAME_MAX) {
    throw fail(ValidationFailed, field, "maxLength", `must be at most ${USERNAME_MAX} characters, got ${length}`);
  }
  return visibleName(name, field);
}

/** Fields of a new user. */
export interface CreateUserInput {
  orgId: string;
  username: string;
  email?: string | null | undefined;
  displayName?: string | null | undefined;
  status?: "active" | "disabled" | undefined;
  attributes?: Record<string, unknown> | undefined;
  source?: "local" | "ldap" | "oidc" | "scim" | "ranger-usersync" | undefined;
  externalId?: string | null | undefined;
  /** The SCIM client writing the user (migration 0015), so a SCIM write marks it in the same statement. */
  scimClientId?: string | undefined;
}

/** Changes to a user; absent fields are left as they are. */
export type UpdateUserInput = Partial<Omit<CreateUserInput, "orgId">>;

/** Reads a user or throws USER_NOT_FOUND (404) naming `field`. */
export async function getUserRow(db: Queryable, id: string, field = "path.id"): Promise<UserRow> {
  const row = await db.selectFrom("users").where("id", "=", id).selectAll().executeTakeFirst();
  if (!row) throw fail(UserNotFound, field, "exists", `user \`${id}\` not found`);
  return row;
}

/** Finds a user by username (case-insensitive) in an organisation, for callers that speak names. */
export async function findUserByUsername(db: Queryable, orgId: string, username: string): Promise<UserView | null> {
  const row = await db
    .selectFrom("users")
    .where("org_id", "=", orgId)
    .where((eb) => eb(eb.fn("lower", ["username"]), "=", normaliseName(username).toLowerCase()))
    .selectAll()
    .executeTakeFirst();
  return row ? presentUser(row) : null;
}

/**
 * Creates a user. Usernames are unique per organisation compared case-insensitively, so `Alice`
 * and `alice` can never be two principals in a policy.
 *
 * @throws USERNAME_TAKEN (409) with the existing user's id; REFERENCE_NOT_FOUND for an unknown org.
 */
export async function createUser(tx: Tx, ctx: AuditContext, input: CreateUserInput): Promise<UserView> {
  return presentUser(await createUserRow(tx, ctx, input));
}

/**
 * `createUser` returning the stored row (SCIM presents columns the view leaves out), in one
 * statement: the insert and its `user.created` event are one data-modifying CTE, so the pair is
 * atomic even on a pool connection outside a transaction (a SCIM create is then one round trip).
 * The id and timestamps are made here so the event can be written beside the insert; the
 * organisation is checked by the insert's foreign key rather than by a query before it.
 */
export async function createUserRow(db: Queryable, ctx: AuditContext, input: CreateUserInput): Promise<UserRow> {
  // one spelling per name: NFD and NFC "é" are one user (docs/input-rules.md)
  const username = storedUsername(input.username, "body.username");
  if (username !== input.username) return createUserRow(db, ctx, { ...input, username });
  const now = new Date();
  const values = {
    id: randomUUID(),
    org_id: input.orgId,
    username: input.username,
    email: input.email ?? null,
    display_name: input.displayName ?? null,
    attributes: JSON.stringify(input.attributes ?? {}),
    external_id: input.externalId ?? null,
    status: input.status ?? "active",
    source: input.source ?? "local",
    scim_client_id: input.scimClientId ?? null,
    created_at: now,
    updated_at: now,
  } as const;
  const view: UserView = {
    id: values.id,
    orgId: values.org_id,
    username: values.username,
    email: values.email,
    displayName: values.display_name,
    status: values.status,
    attributes: input.attributes ?? {},
    source: values.source,
    externalId: values.external_id,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const event = auditRow(ctx, {
    action: "user.created",
    targetType: "user",
    targetId: values.id,
    orgId: values.org_id,
    after: view,
  });
  const columns = Object.keys(event) as (keyof typeof event)[];
  let row: UserRow | undefined;
  try {
    // raw SQL: building this CTE with the query builder cost more CPU than the rest of a SCIM create
    const result = await sql<UserRow>`
      with u as (
        insert into users (id, org_id, username, email, display_name, attributes, external_id, status, source,
                           scim_client_id, created_at, updated_at)
        values (${values.id}::uuid, ${values.org_id}::uuid, ${values.username}, ${values.email}, ${values.display_name},
                ${values.attributes}::jsonb, ${values.external_id}, ${values.status}, ${values.source},
                ${values.scim_client_id}::uuid, ${now}, ${now})
        on conflict do nothing
        returning *
      ), a as (
        insert into audit_events (${sql.join(columns.map((c) => sql.ref(c)))})
        select ${sql.join(columns.map((c) => sql`${event[c]}::${sql.raw(AUDIT_TYPES[c] ?? "text")}`))} from u
      )
      select * from u`.execute(db);
    row = result.rows[0];
  } catch (err) {
    if (isForeignKeyViolation(err, "users_org_id_fkey")) {
      throw fail(ReferenceNotFound, "body.orgId", "exists", `organisation \`${input.orgId}\` not found`);
    }
    throw err;
  }
  if (!row) throw await usernameTaken(db, input.orgId, input.username);
  return row as UserRow;
}

/** The SQL type of the columns of an `auditRow` that are not text. */
const AUDIT_TYPES: Partial<Record<keyof ReturnType<typeof auditRow>, string>> = {
  org_id: "uuid",
  before: "jsonb",
  after: "jsonb",
};

/**
 * Creates many users of one organisation with one insert and one audit insert per chunk, for bulk
 * pushes (Ranger usersync sends 1,000 users a call): the same rows and `user.created` events as
 * `createUser` one by one, in the caller's transaction. A username taken (or given twice) fails
 * the whole call.
 *
 * @throws USERNAME_TAKEN (409) naming the first taken username; REFERENCE_NOT_FOUND for an unknown org.
 */
export async function createUsers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  inputs: Omit<CreateUserInput, "orgId">[],
): Promise<UserView[]> {
  if (inputs.length === 0) return [];
  if (inputs.some((input) => storedUsername(input.username, "body.username") !== input.username)) {
    return createUsers(
      tx,
      ctx,
      orgId,
      inputs.map((input) => ({ ...input, username: normaliseName(input.username) })),
    );
  }
  const org = await tx.selectFrom("orgs").where("id", "=", orgId).select("id").executeTakeFirst();
  if (!org) throw fail(ReferenceNotFound, "body.orgId", "exists", `organisation \`${orgId}\` not found`);
  const views: UserView[] = [];
  for (let at = 0; at < inputs.length; at += CREATE_CHUNK) {
    const chunk = inputs.slice(at, at + CREATE_CHUNK);
    const rows = await tx
      .insertInto("users")
      .values(
        chunk.map((input) => ({
          org_id: orgId,
          username: input.username,
          email: input.email ?? null,
          display_name: input.displayName ?? null,
          attributes: JSON.stringify(input.attributes ?? {}),
          external_id: input.externalId ?? null,
          status: input.status ?? "active",
          source: input.source ?? "local",
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .execute();
    if (rows.length !== chunk.length) {
      const written = new Set(rows.map((r) => r.username.toLowerCase()));
      const lower = chunk.map((input) => input.username.toLowerCase());
      const taken =
        chunk.find((_, i) => !written.has(lower[i] as string)) ??
        chunk.find((_, i) => lower.indexOf(lower[i] as string) !== i);
      throw await usernameTaken(tx, orgId, taken?.username ?? "");
    }
    const chunkViews = rows.map(presentUser);
    await recordAuditMany(
      tx,
      ctx,
      chunkViews.map((view) => ({
        action: "user.created",
        targetType: "user",
        targetId: view.id,
        orgId,
        after: view,
      })),
    );
    views.push(...chunkViews);
  }
  return views;
}

/** Rows of one multi-row insert of `createUsers` (well under PostgreSQL's 65,535 parameters). */
const CREATE_CHUNK = 1000;

/** Updates a user's profile, status, attributes or source. */
export async function updateUser(tx: Tx, ctx: AuditContext, id: string, input: UpdateUserInput): Promise<UserView> {
  const username = input.username === undefined ? undefined : storedUsername(input.username, "body.username");
  if (username !== input.username) return updateUser(tx, ctx, id, { ...input, username });
  const before = presentUser(await getUserRow(tx, id));
  let row: UserRow;
  try {
    row = await tx
      .updateTable("users")
      .set({
        ...(input.username !== undefined ? { username: input.username } : {}),
        ...(input.email !== undefined ? { email: input.email } : {}),
        ...(input.displayName !== undefined ? { display_name: input.displayName } : {}),
        ...(input.status !== undefined ? { status: input.status } : {}),
        ...(input.attributes !== undefined ? { attributes: JSON.stringify(input.attributes) } : {}),
        ...(input.source !== undefined ? { source: input.source } : {}),
        ...(input.externalId !== undefined ? { external_id: input.externalId } : {}),
        updated_at: new Date(),
      })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err))
      throw fail(UsernameTaken, "body.username", "unique", `username \`${input.username}\` is taken`);
    throw err;
  }
  const view = presentUser(row);
  await recordAudit(tx, ctx, {
    action: "user.updated",
    targetType: "user",
    targetId: id,
    orgId: row.org_id,
    before,
    after: view,
  });
  return view;
}

/**
 * Deletes a user with its memberships and role bindings, each removal audited on its own, so the
 * trail shows what access disappeared with the user (Frontier issue #156). A user that policies
 * name is refused unless `force`, which removes it from those policies (see releasePrincipal).
 *
 * @throws PRINCIPAL_IN_POLICIES (409) listing the policies when policies name the user.
 */
export async function deleteUser(tx: Tx, ctx: AuditContext, id: string, force = false): Promise<void> {
  const user = await getUserRow(tx, id);
  // the same username in another organisation keeps the policies' reference meaningful
  const stillHeld = await tx
    .selectFrom("users")
    .where("username", "=", user.username)
    .where("id", "!=", id)
    .select("id")
    .executeTakeFirst();
  await releasePrincipal(tx, ctx, "user", user.username, force, stillHeld !== undefined);
  const memberships = await tx.deleteFrom("group_members").where("user_id", "=", id).returningAll().execute();
  const bindings = await tx
    .deleteFrom("role_bindings")
    .where("principal_type", "=", "user")
    .where("principal_id", "=", id)
    .returningAll()
    .execute();
  await recordAuditMany(tx, ctx, [
    ...memberships.map((m) => ({
      action: "group.member.removed",
      targetType: "group",
      targetId: m.group_id,
      orgId: user.org_id,
      before: { groupId: m.group_id, userId: m.user_id, role: m.role },
    })),
    ...bindings.map((b) => ({
      action: "role_binding.deleted",
      targetType: "role_binding",
      targetId: b.id,
      orgId: user.org_id,
      before: presentRoleBinding(b),
    })),
  ]);
  await tx.deleteFrom("users").where("id", "=", id).execute();
  await recordAudit(tx, ctx, {
    action: "user.deleted",
    targetType: "user",
    targetId: id,
    orgId: user.org_id,
    before: presentUser(user),
  });
}

async function usernameTaken(db: Queryable, orgId: string, username: string) {
  const existing = await findUserByUsername(db, orgId, username);
  return fail(
    UsernameTaken,
    "body.username",
    "unique",
    `username \`${username}\` is taken in the organisation (compared case-insensitively)`,
    existing ? { existingId: existing.id } : undefined,
  );
}
