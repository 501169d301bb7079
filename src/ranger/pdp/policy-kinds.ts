import type { LiveEngine } from "../../decisions/live-engines.ts";

/** Whether any row-filter or data-mask policy can apply to a service's requests. */
export interface PolicyKinds {
  readonly rowFilter: boolean;
  readonly mask: boolean;
}

const kindsByEngine = new WeakMap<LiveEngine, PolicyKinds & { version: number }>();

/**
 * Whether the service or its linked tag service has any row-filter or data-mask policy: where
 * none exists the engine's answer is known to be empty, and the PDP skips that evaluation for
 * every permission. The service's own policies are scanned once per policy version; the tag
 * policies are asked of the engine's tag repository (an array length each), so a tag policy
 * arriving by delta counts at once, and a linked tag service without masks (Gatehouse's built-in
 * tag def has no `dataMaskDef`, so none has masks today) costs nothing.
 */
export function policyKinds(live: LiveEngine): PolicyKinds {
  let kinds = kindsByEngine.get(live);
  if (kinds === undefined || kinds.version !== live.version) {
    let rowFilter = false;
    let mask = false;
    for (const policy of live.policies.values()) {
      if (policy.policyType === 2) rowFilter = true;
      else if (policy.policyType === 1) mask = true;
    }
    kinds = { version: live.version, rowFilter, mask };
    kindsByEngine.set(live, kinds);
  }
  const tags = live.engine.tagRepository;
  if (tags === null || (kinds.rowFilter && kinds.mask)) return kinds;
  const tagRowFilter = tags.hasPolicies(2);
  const tagMask = tags.hasPolicies(1);
  if (!tagRowFilter && !tagMask) return kinds;
  return { rowFilter: kinds.rowFilter || tagRowFilter, mask: kinds.mask || tagMask };
}
