// The contract between the delivery framework (src/connectors) and each external system it writes
// to. The Keycloak target (keycloak/keycloak-target.ts) and the Ranger target
// (ranger/ranger-target.ts) implement it; the worker, reconcile and the Nx1 wait use only this.

/** What a connector carries for one group: the target's view of it. */
export interface GroupState {
  gatehouseId: string; // stable id of the Gatehouse group
  path: string[]; // names from the root group down to this one (flat targets use the last)
  attributes: Record<string, string[]>; // gatehouse.id, metadata labels
  members: string[]; // usernames: direct members for hierarchical targets, effective for flat ones (the framework passes what `target.membership` asks for)
}
export interface DeliveryReport {
  missingUsers: string[];
}
export interface TargetGroupPage {
  groups: GroupState[];
  next?: string;
}
/** One external system a connector writes to. Every method is idempotent: "already exists" is reconciled, never an error; "missing" on delete is success. */
export interface ConnectorTarget {
  readonly kind: "keycloak" | "ranger";
  readonly membership: "direct" | "effective";
  check(): Promise<{ ok: boolean; detail: string }>;
  upsertGroup(group: GroupState): Promise<DeliveryReport>;
  deleteGroup(group: Pick<GroupState, "gatehouseId" | "path">): Promise<void>;
  listGroups(cursor?: string): Promise<TargetGroupPage>;
  /**
   * Optional batch form of `upsertGroup` for targets with bulk endpoints (Ranger usersync's take
   * 1,000 entries a call): one report per group, in order. All or nothing: when it throws, the
   * framework retries each group of the batch on its own.
   */
  upsertGroups?(groups: GroupState[]): Promise<DeliveryReport[]>;
  /** Optional: forget what the target object caches about the remote side (after a failure, before a reconcile). */
  invalidate?(): void;
}
/** Thrown for an answer the target gave; the framework uses `status`/`retryable` for backoff, dead-lettering and the Nx1 502 text. */
export class TargetError extends Error {
  // plain fields, not parameter properties: the project compiles with `erasableSyntaxOnly`
  readonly target: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  constructor(target: string, status: number | undefined, message: string, retryable: boolean) {
    super(message);
    this.target = target;
    this.status = status;
    this.retryable = retryable;
  }
}

/** The attribute every carried group holds: the Gatehouse group's id. */
export const GROUP_ID_ATTRIBUTE = "gatehouse.id";
