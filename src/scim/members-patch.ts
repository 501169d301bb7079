import type { PatchOperation } from "./patch.ts";
import { memberIdsOf } from "./resources.ts";

/** What membership operations do to a group: users to add and remove, or the whole new member list. */
export type MemberChange = { kind: "delta"; add: Set<string>; remove: Set<string> } | { kind: "set"; ids: Set<string> };

const MEMBER_FILTER = /^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$/i;

/**
 * Reads the membership operations of a Group PatchOp without loading the group's members, for
 * what identity providers send: `add`/`remove` on `members` with value lists (Entra ID),
 * `remove` on `members[value eq "id"]` (Okta, Entra ID), `replace` on `members` (the whole list).
 * Operations on other attributes are returned in `rest`; null when some membership operation has
 * another shape (then the caller applies everything with `scim-patch` on the full resource).
 */
export function memberOperations(
  operations: PatchOperation[],
  current: () => Promise<string[]>,
): { rest: PatchOperation[]; change: (() => Promise<MemberChange>) | null } | null {
  const rest: PatchOperation[] = [];
  type State = { add: Set<string>; remove: Set<string>; all: Set<string> | null };
  const add = (s: State, id: string) => {
    if (s.all) s.all.add(id);
    else {
      s.remove.delete(id);
      s.add.add(id);
    }
  };
  const remove = (s: State, id: string) => {
    if (s.all) s.all.delete(id);
    else {
      s.add.delete(id);
      s.remove.add(id);
    }
  };
  const steps: ((s: State) => void)[] = [];
  let needsAll = false;
  for (const [i, op] of operations.entries()) {
    const path = op.path ?? "";
    const field = `body.Operations[${i}].value`;
    if (path.toLowerCase() === "members") {
      if (op.op === "add") {
        const ids = memberIdsOf(op.value, field);
        steps.push((s) => {
          for (const id of ids) add(s, id);
        });
      } else if (op.op === "remove" && op.value !== undefined && op.value !== null) {
        const ids = memberIdsOf(op.value, field);
        steps.push((s) => {
          for (const id of ids) remove(s, id);
        });
      } else {
        // replace, or remove without value: the whole list changes
        needsAll = true;
        const ids = op.op === "replace" ? memberIdsOf(op.value, field) : [];
        steps.push((s) => {
          s.all = new Set(ids);
        });
      }
      continue;
    }
    const filtered = MEMBER_FILTER.exec(path);
    if (filtered) {
      if (op.op !== "remove") return null;
      const id = filtered[1] as string;
      steps.push((s) => remove(s, id));
      continue;
    }
    if (path.toLowerCase().startsWith("members")) return null;
    rest.push(op);
  }
  if (steps.length === 0) return { rest, change: null };
  return {
    rest,
    change: async () => {
      // with a whole-list operation, every step applies to the full list, in order
      const state: State = { add: new Set(), remove: new Set(), all: needsAll ? new Set(await current()) : null };
      for (const step of steps) step(state);
      return state.all ? { kind: "set", ids: state.all } : { kind: "delta", add: state.add, remove: state.remove };
    },
  };
}
