import type { AuditContext } from "../../audit/audit.service.ts";
import {
  type BindingScope,
  createRoleBinding,
  deleteRoleBinding,
  normaliseScope,
} from "../../directory/role-bindings.service.ts";
import type { Tx } from "../../storage/db.ts";
import type { RoleBindingRow } from "../../storage/schema.ts";
import { bindingsOfGroup } from "./reads.ts";

/** A role binding a compatibility API asks a group to hold. */
export interface WantedBinding {
  roleId: string;
  scope: BindingScope;
  allowAllObjects: boolean;
}

const keyOf = (roleId: string, type: string, value: string) => `${roleId}\u0000${type}\u0000${value}`;

/**
 * Makes the group's role bindings those listed, through the directory's binding service so each
 * added and removed binding is checked and audited. Products whose body carries the whole list
 * (Puppet `role_ids`, Aria `role-permissions`) replace with this; `managed` limits which existing
 * bindings the product owns (Puppet's integer roles are organisation-wide, so it leaves bindings
 * at narrower scopes alone). A binding whose `allowAllObjects` changes is replaced.
 *
 * @returns how many bindings were created and deleted.
 */
export async function replaceGroupBindings(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  groupId: string,
  wanted: WantedBinding[],
  managed: (binding: RoleBindingRow) => boolean = () => true,
): Promise<{ created: number; deleted: number }> {
  const current = (await bindingsOfGroup(tx, orgId, groupId)).filter(managed);
  const wantedByKey = new Map<string, WantedBinding>();
  for (const binding of wanted) {
    const scope = normaliseScope(binding.scope);
    wantedByKey.set(keyOf(binding.roleId, scope.type, scope.value), { ...binding, scope });
  }
  let deleted = 0;
  for (const row of current) {
    const want = wantedByKey.get(keyOf(row.role_id, row.scope_type, row.scope));
    if (want && want.allowAllObjects === row.allow_all_objects) {
      wantedByKey.delete(keyOf(row.role_id, row.scope_type, row.scope));
      continue;
    }
    await deleteRoleBinding(tx, ctx, row.id);
    deleted++;
  }
  for (const want of wantedByKey.values()) {
    await createRoleBinding(tx, ctx, {
      orgId,
      roleId: want.roleId,
      principal: { type: "group", id: groupId },
      scope: want.scope,
      allowAllObjects: want.allowAllObjects,
    });
  }
  return { created: wantedByKey.size, deleted };
}
