import type { AclPermissions, RangerAccessRequest } from "../engine/index.ts";
import type { DecisionInput, DecisionOutput } from "./decide.ts";
import type { LiveEngine } from "./live-engines.ts";

/** One policy's say on the request, as the resource ACLs report it. */
interface PolicyVerdict {
  principal: string;
  principalType: "user" | "group" | "role";
  accessType: string;
  result: "allowed" | "denied" | "conditional" | "undetermined";
  policyId: number | null;
  policyName: string | null;
}

const RESULT = { [-1]: "denied", 0: "undetermined", 1: "allowed", 2: "conditional" } as const;

type Explainer = { explain?: (req: RangerAccessRequest, policyType?: number) => unknown };

/**
 * The explanation of a decision. When the engine offers `explain` (its own trace of the
 * evaluation), that is returned as is. Otherwise the explanation is assembled from the engine's
 * public API: the resource ACLs (Ranger's `getResourceACLs`) narrowed to this user, its groups
 * and roles and the requested access type, which name every policy that allows or denies them
 * on this resource, next to the policy that decided.
 */
export function explainDecision(
  live: LiveEngine,
  input: DecisionInput,
  req: RangerAccessRequest,
  groups: string[],
  roles: string[],
  decision: DecisionOutput,
): unknown {
  const engine = live.engine as unknown as Explainer;
  if (typeof engine.explain === "function") {
    const type = { access: 0, datamask: 1, rowfilter: 2 }[input.policyType ?? "access"];
    return { source: "engine", trace: engine.explain(req, type) };
  }
  const acls = live.engine.getResourceACLs(req, 0);
  const access = input.accessType ?? "";
  const verdicts: PolicyVerdict[] = [];
  const collect = (perms: AclPermissions, type: PolicyVerdict["principalType"], names: string[]) => {
    for (const name of names) {
      const byAccess = perms[name];
      if (!byAccess) continue;
      for (const [accessType, r] of Object.entries(byAccess)) {
        if (access && access !== "_any" && accessType !== access) continue;
        verdicts.push({
          principal: name,
          principalType: type,
          accessType,
          result: RESULT[r.result as -1 | 0 | 1 | 2] ?? "undetermined",
          policyId: r.policy?.id ?? null,
          policyName: r.policy?.name ?? (r.policy ? (live.policies.get(r.policy.id)?.name ?? null) : null),
        });
      }
    }
  };
  collect(acls.userACLs, "user", [input.user, "{USER}"]);
  collect(acls.groupACLs, "group", [...groups, "public"]);
  collect(acls.roleACLs, "role", roles);
  const deciding = decision.policyId >= 0 ? live.policies.get(decision.policyId) : undefined;
  return {
    source: "resource-acls",
    note: "the engine offers no evaluation trace yet; this lists what each policy says on the resource for the principals",
    principals: { user: input.user, groups, roles },
    decidingPolicy: deciding
      ? { id: deciding.id, name: deciding.name, version: deciding.version, priority: deciding.policyPriority ?? 0 }
      : null,
    verdicts,
  };
}
