import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import { ReferenceNotFound, RoleBindingExists, RoleBindingNotFound, ValidationFailed } from "../errors.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import type { RoleBindingRow } from "../storage/schema.ts";
import { fail } from "./fail.ts";
import { assertMayGrant } from "./grant-guard.ts";
import { presentRoleBinding, type RoleBindingView } from "./present.ts";

/** What a binding grants its role on: the whole organisation, one service, or a resource selector. */
export interface BindingScope {
  type: "org" | "service" | "resource";
  /** Empty for `org`; a service name; a selector such as `catalog=sales,schema=*`. */
  value?: string | undefined;
}

/** Fields of a new role binding. */
export interface CreateRoleBindingInput {
  orgId: string;
  roleId: string;
  principal: { type: "user" | "group" | "service_account"; id: string };
  scope?: BindingScope | undefined;
  /** Grant on every object in scope, now and later (VMware Aria's `allowAllObjects`). */
  allowAllObjects?: boolean | undefined;
  /** The principal administers the role: it may grant and revoke it (Ranger's `isAdmin`). */
  isAdmin?: boolean | undefined;
}

const SERVICE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const SELECTOR_PART = /^[A-Za-z0-9_.-]+=[^,=]+$/;

/**
 * Normalises and checks a scope. A resource selector is `key=value` pairs joined by commas, values
 * may use `*` and `?` wildcards, and each key appears once.
 *
 * @throws VALIDATION_FAILED naming `body.scope.value` and the rule.
 */
export function normaliseScope(scope: BindingScope | undefined): { type: BindingScope["type"]; value: string } {
  const type = scope?.type ?? "org";
  const value = (scope?.value ?? "").trim();
  const field = "body.scope.value";
  if (type === "org") {
    if (value) throw fail(ValidationFailed, field, "empty", "must be empty for scope type `org`");
    return { type, value: "" };
  }
  if (type === "service") {
    if (!SERVICE_NAME.test(value)) {
      throw fail(ValidationFailed, field, "serviceName", "must be a service name of 1 to 255 of `A-Z a-z 0-9 _ . -`");
    }
    return { type, value };
  }
  const parts = value.split(",").map((p) => p.trim());
  const keys = new Set<string>();
  for (const part of parts) {
    if (!SELECTOR_PART.test(part)) {
      throw fail(
        ValidationFailed,
        field,
        "selector",
        `\`${part}\` is not \`key=value\` (e.g. \`catalog=sales,schema=*\`)`,
      );
    }
    const key = part.slice(0, part.indexOf("="));
    if (keys.has(key)) throw fail(ValidationFailed, field, "uniqueKeys", `key \`${key}\` appears twice`);
    keys.add(key);
  }
  return { type, value: parts.join(",") };
}

async function checkPrincipal(db: Queryable, orgId: string, principal: CreateRoleBindingInput["principal"]) {
  const table = principal.type === "user" ? "users" : principal.type === "group" ? "groups" : "service_accounts";
  const row = await db.selectFrom(table).where("id", "=", principal.id).select("org_id").executeTakeFirst();
  if (!row || row.org_id !== orgId) {
    throw fail(
      ReferenceNotFound,
      "body.principal.id",
      "exists",
      `${principal.type} \`${principal.id}\` not found in the organisation`,
    );
  }
}

/**
 * Binds a role to a user, group or service account at a scope. A group binding reaches every
 * effective member (through the hierarchy).
 *
 * @throws REFERENCE_NOT_FOUND for an unknown role or principal; ROLE_BINDING_EXISTS (409, `meta.existingId`);
 *   FORBIDDEN when the role reaches built-in permissions the caller does not hold.
 */
export async function createRoleBinding(
  tx: Tx,
  ctx: AuditContext,
  input: CreateRoleBindingInput,
): Promise<RoleBindingView> {
  const scope = normaliseScope(input.scope);
  const role = await tx.selectFrom("roles").where("id", "=", input.roleId).select("org_id").executeTakeFirst();
  if (!role || (role.org_id !== null && role.org_id !== input.orgId)) {
    throw fail(ReferenceNotFound, "body.roleId", "exists", `role \`${input.roleId}\` not found in the organisation`);
  }
  await checkPrincipal(tx, input.orgId, input.principal);
  await assertMayGrant(tx, ctx, [input.roleId], "body.roleId");
  const row = await tx
    .insertInto("role_bindings")
    .values({
      org_id: input.orgId,
      role_id: input.roleId,
      principal_type: input.principal.type,
      principal_id: input.principal.id,
      scope_type: scope.type,
      scope: scope.value,
      allow_all_objects: input.allowAllObjects ?? false,
      is_admin: input.isAdmin ?? false,
    })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const existing = await tx
      .selectFrom("role_bindings")
      .where("role_id", "=", input.roleId)
      .where("principal_type", "=", input.principal.type)
      .where("principal_id", "=", input.principal.id)
      .where("scope_type", "=", scope.type)
      .where("scope", "=", scope.value)
      .select("id")
      .executeTakeFirst();
    throw fail(RoleBindingExists, "body", "unique", "the role is already bound to this principal at this scope", {
      existingId: existing?.id,
    });
  }
  const view = presentRoleBinding(row);
  await recordAudit(tx, ctx, {
    action: "role_binding.created",
    targetType: "role_binding",
    targetId: row.id,
    orgId: input.orgId,
    after: view,
  });
  return view;
}

/** Reads a role binding or throws ROLE_BINDING_NOT_FOUND (404). */
export async function getRoleBindingRow(db: Queryable, id: string): Promise<RoleBindingRow> {
  const row = await db.selectFrom("role_bindings").where("id", "=", id).selectAll().executeTakeFirst();
  if (!row) throw fail(RoleBindingNotFound, "path.id", "exists", `role binding \`${id}\` not found`);
  return row;
}

/**
 * Makes the binding's principal an administrator of its role, or no longer one (Ranger's `isAdmin`;
 * an administrator may grant and revoke the role through Ranger's role API). Making one is handing
 * the role out, so the caller is held to the same guard as binding it. Unchanged: no write, no event.
 *
 * @throws ROLE_BINDING_NOT_FOUND (404); FORBIDDEN when the role reaches built-in permissions the caller does not hold.
 */
export async function setRoleBindingAdmin(
  tx: Tx,
  ctx: AuditContext,
  id: string,
  isAdmin: boolean,
): Promise<RoleBindingView> {
  const row = await getRoleBindingRow(tx, id);
  if (row.is_admin === isAdmin) return presentRoleBinding(row);
  if (isAdmin) await assertMayGrant(tx, ctx, [row.role_id], "body.isAdmin");
  const updated = await tx
    .updateTable("role_bindings")
    .set({ is_admin: isAdmin })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentRoleBinding(updated);
  await recordAudit(tx, ctx, {
    action: "role_binding.updated",
    targetType: "role_binding",
    targetId: id,
    orgId: row.org_id,
    before: presentRoleBinding(row),
    after: view,
  });
  return view;
}

/** Deletes a role binding. */
export async function deleteRoleBinding(tx: Tx, ctx: AuditContext, id: string): Promise<void> {
  const row = await getRoleBindingRow(tx, id);
  await tx.deleteFrom("role_bindings").where("id", "=", id).execute();
  await recordAudit(tx, ctx, {
    action: "role_binding.deleted",
    targetType: "role_binding",
    targetId: id,
    orgId: row.org_id,
    before: presentRoleBinding(row),
  });
}
