import {
  createEngineInSlices,
  diffServiceTags,
  HeldServiceTags,
  type PolicyEngine,
  type RangerPolicy,
  type RangerPolicyDelta,
  type RangerServiceDef,
} from "../engine/index.ts";
import { ServiceNotFound } from "../errors.ts";
import type { Db } from "../storage/db.ts";
import { splitPoliciesByZone } from "../zones/zone-policies.ts";
import {
  isTagPolicyDelta,
  readDeltas,
  readServiceSnapshot,
  readServiceState,
  readServiceTagsChange,
  type ServiceState,
  type ServiceTagsChange,
} from "./engine-source.ts";
import { nextTurn } from "./next-turn.ts";

/** One service's engine and what it was built from. */
export interface LiveEngine {
  readonly serviceId: number;
  readonly serviceName: string;
  readonly serviceType: string;
  readonly def: RangerServiceDef;
  readonly engine: PolicyEngine;
  /** The service policy version the engine serves (Ranger's policyVersion). */
  version: number;
  readonly builtAt: Date;
  /** When a policy or tag delta was last applied (null until the first). */
  updatedAt: Date | null;
  deltasApplied: number;
  /** Current policies by id, kept in step with the deltas (what-can-a-user-access reads them). */
  readonly policies: Map<number, RangerPolicy>;
  /** Service and def update times at build: a change to either needs a rebuild. */
  readonly serviceUpdatedAt: number;
  readonly defUpdatedAt: number;
  /** The linked tag service and what the engine took from it; null when none is linked. */
  readonly tag: LiveTagService | null;
  /** Version of the service's resource tags the engine serves (Ranger `tagVersion`). */
  tagVersion: number;
  /**
   * The resource-tag document the engine was built with, kept current by the deltas it applied
   * (queued, applied to a copy only when asked for): when the change log cannot bridge a gap,
   * the whole new document is applied as its difference from this (`diffServiceTags`). Never
   * mutated in place (the engine keeps parts of it by reference).
   */
  readonly heldTags: HeldServiceTags;
}

/** The tag service an engine takes tag policies from, as it was at build. */
export interface LiveTagService {
  readonly id: number;
  readonly name: string;
  /** Its service-def name (`tag`): deltas whose policy has this `serviceType` are tag policy deltas. */
  readonly type: string;
  readonly isEnabled: boolean;
  readonly updatedAt: number;
  readonly defUpdatedAt: number;
}

/** Counts for `GET /v1/services/{service}/engine` and tests. */
export interface EngineStats {
  builds: number;
  deltaBatches: number;
  /** Resource-tag changes applied to a live engine in place (no rebuild). */
  tagUpdates: number;
  /** Of those, the ones that read the whole `ServiceTags` because the change log did not bridge the gap. */
  tagFullReads: number;
}

/**
 * The server's engines, one per service, built lazily from the database on first use and then
 * kept current from the committed change log (`policy_deltas`): `refresh` applies the deltas
 * after the engine's version, so a policy change costs one small query and an incremental
 * update, never a rebuild. A rebuild happens only when the log cannot bridge the gap (versions
 * without deltas), or when the service's configs or its service-def changed.
 *
 * Tags: an engine includes its linked tag service's policies and the service's resource tags
 * (`ServiceTags`). A tag policy change reaches it incrementally, as a delta copied into the
 * service's own log (migration 0006). A change to the resource tags (`tagVersion`) reaches it
 * incrementally too: the tag change log (migration 0008) gives a Ranger tag delta naming only the
 * changed resources and tags, applied in place (`applyServiceTags`), O(change); when the log
 * cannot bridge the gap (pruned, or a change a delta cannot reproduce), the whole `ServiceTags`
 * is read and its difference from the document the engine holds (`diffServiceTags`) applied,
 * O(tagged resources) but still no rebuild. A change to the link, or to the tag service's
 * configs, enabled state or def rebuilds the engine.
 *
 * Security zones: an engine has one repository per zone of the service (policies with that
 * `zoneName`) besides the default one. A policy delta reaches its zone's repository
 * incrementally; a zone change bumps the service's version without a delta, so the engine is
 * rebuilt, as it is for a delta that moves a policy from one zone to another.
 *
 * Refreshes of one service are serialised, so deltas are applied once and in order whatever
 * mix of notifications, in-process writes and polls asks for them.
 */
export class LiveEngines {
  readonly #db: Db;
  readonly #entries = new Map<string, LiveEngine>();
  readonly #idToName = new Map<number, string>();
  /** Tag service id → loaded services linked to it (a tag service's own notification names it). */
  readonly #linked = new Map<number, Set<string>>();
  readonly #running = new Map<string, Promise<LiveEngine | undefined>>();
  readonly #again = new Set<string>();
  readonly stats: EngineStats = { builds: 0, deltaBatches: 0, tagUpdates: 0, tagFullReads: 0 };
  /** Called after an engine was built or advanced (propagation tests and metrics). */
  onUpdate: ((live: LiveEngine) => void) | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The engine of `name` if it is loaded: the decision hot path, no await. */
  peek(name: string): LiveEngine | undefined {
    return this.#entries.get(name);
  }

  /** The engine of `name`, loading it on first use; SERVICE_NOT_FOUND for an unknown service. */
  async get(name: string): Promise<LiveEngine> {
    const live = this.#entries.get(name) ?? (await this.refresh(name));
    if (!live) throw ServiceNotFound(`service \`${name}\` not found`);
    return live;
  }

  /** Names of the loaded services. */
  loaded(): string[] {
    return [...this.#entries.keys()];
  }

  /** Catches `name` up with the database (serialised per service); undefined when it is gone. */
  refresh(name: string): Promise<LiveEngine | undefined> {
    const running = this.#running.get(name);
    if (running) {
      // A change may have committed after the running refresh read the version: go once more.
      this.#again.add(name);
      return running;
    }
    const run = (async () => {
      try {
        let live = await this.#refreshOnce(name);
        while (this.#again.delete(name)) live = await this.#refreshOnce(name);
        return live;
      } finally {
        this.#running.delete(name);
      }
    })();
    this.#running.set(name, run);
    return run;
  }

  /**
   * Refreshes the loaded service with this id (a notification names services by id), or the
   * loaded services linked to the tag service with this id.
   */
  async refreshById(id: number): Promise<void> {
    const name = this.#idToName.get(id);
    const names = [...(name ? [name] : []), ...(this.#linked.get(id) ?? [])];
    if (names.length > 0) await Promise.all(names.map((n) => this.refresh(n)));
    else {
      // A renamed service, or one this process has not loaded: refresh every loaded one.
      await this.refreshAll();
    }
  }

  /** Catches every loaded engine up (after a reconnect, a local write, or the safety poll). */
  async refreshAll(): Promise<void> {
    await Promise.all(this.loaded().map((name) => this.refresh(name)));
  }

  async #refreshOnce(name: string): Promise<LiveEngine | undefined> {
    const current = this.#entries.get(name);
    if (!current) return this.#build(name);
    const state = await readServiceState(this.#db.kysely, name);
    if (!state || needsRebuild(current, state)) return this.#build(name);
    if (state.tagVersion !== current.tagVersion) {
      // Resource tags moved (bumping `tagVersion` leaves the row's `updated_at` alone): read what
      // changed with the state it belongs to, and rebuild only if something else changed meanwhile.
      const tags = await readServiceTagsChange(this.#db, name, current.tagVersion);
      if (!tags || needsRebuild(current, tags.service)) return this.#build(name);
      this.#applyTags(current, tags);
    }
    if (state.policyVersion === current.version) return current;
    const deltas = await readDeltas(this.#db.kysely, state.id, current.version, state.policyVersion);
    if (!deltas) return this.#build(name);
    // Tag policies live in one tag repository whatever their zone: only resource policies can move.
    const tagType = current.tag?.type ?? null;
    if (
      movesZone(
        deltas.filter((d) => !isTagPolicyDelta(d, tagType)),
        current.policies,
      )
    )
      return this.#build(name);
    // Tag policy deltas go to the engine's tag repository (it routes them by serviceType); a
    // disabled tag service contributes nothing, so its deltas are skipped.
    const applicable =
      current.tag && !current.tag.isEnabled ? deltas.filter((d) => !isTagPolicyDelta(d, tagType)) : deltas;
    current.engine.applyDeltas(applicable, undefined, state.policyVersion);
    for (const d of deltas) {
      const id = d.policy.id;
      if (id === undefined || isTagPolicyDelta(d, tagType)) continue;
      if (d.changeType === 2) current.policies.delete(id);
      else current.policies.set(id, d.policy);
    }
    current.version = state.policyVersion;
    current.updatedAt = new Date();
    current.deltasApplied += deltas.length;
    this.stats.deltaBatches++;
    this.onUpdate?.(current);
    return current;
  }

  /**
   * Brings the engine's resource tags to `next` in place: the log's delta as it is, or a whole
   * document as its difference from the one held.
   */
  #applyTags(current: LiveEngine, next: ServiceTagsChange): void {
    if (next.service.tagVersion === current.tagVersion) return;
    if (next.delta) {
      current.engine.applyServiceTags(next.delta);
      current.heldTags.apply(next.delta);
    } else {
      current.engine.applyServiceTags(diffServiceTags(current.heldTags.document, next.serviceTags));
      current.heldTags.apply(next.serviceTags);
      this.stats.tagFullReads++;
    }
    current.tagVersion = next.service.tagVersion;
    current.updatedAt = new Date();
    this.stats.tagUpdates++;
    this.onUpdate?.(current);
  }

  #forget(name: string): void {
    const previous = this.#entries.get(name);
    if (!previous) return;
    this.#entries.delete(name);
    this.#idToName.delete(previous.serviceId);
    if (previous.tag) this.#linked.get(previous.tag.id)?.delete(name);
  }

  async #build(name: string): Promise<LiveEngine | undefined> {
    const snapshot = await readServiceSnapshot(this.#db, name);
    if (!snapshot) {
      this.#forget(name);
      return undefined;
    }
    const { service, def, policies, tag, serviceTags, zones } = snapshot;
    const split = splitPoliciesByZone(policies, zones);
    const engine = await stepThrough(
      createEngineInSlices({
        serviceName: service.name,
        serviceDef: def,
        policies: split.policies,
        securityZones: split.securityZones,
        serviceConfig: { raw: service.configs },
        policyVersion: service.policyVersion,
        ...(tag?.service.isEnabled
          ? {
              tagPolicies: {
                serviceName: tag.service.name,
                serviceDef: tag.def,
                policies: tag.policies,
                serviceConfig: tag.service.configs,
              },
            }
          : {}),
        serviceTags,
      }),
    );
    const tagService = service.tagService;
    const live: LiveEngine = {
      serviceId: service.id,
      serviceName: service.name,
      serviceType: service.type,
      def,
      engine,
      version: service.policyVersion,
      builtAt: new Date(),
      updatedAt: null,
      deltasApplied: 0,
      policies: new Map(policies.map((p) => [p.id as number, p])),
      serviceUpdatedAt: service.updatedAt.getTime(),
      defUpdatedAt: service.defUpdatedAt.getTime(),
      tag: tagService
        ? {
            id: tagService.id,
            name: tagService.name,
            type: tagService.type,
            isEnabled: tagService.isEnabled,
            updatedAt: tagService.updatedAt.getTime(),
            defUpdatedAt: tagService.defUpdatedAt.getTime(),
          }
        : null,
      tagVersion: service.tagVersion,
      heldTags: new HeldServiceTags(serviceTags),
    };
    // the previous engine served decisions while this one was built; it is replaced only now
    this.#forget(name);
    this.#entries.set(name, live);
    this.#idToName.set(service.id, name);
    if (tagService) {
      const names = this.#linked.get(tagService.id) ?? new Set<string>();
      this.#linked.set(tagService.id, names);
      names.add(name);
    }
    this.stats.builds++;
    this.onUpdate?.(live);
    return live;
  }
}

/** Runs a sliced build to its end, one step per turn of the event loop. */
async function stepThrough<T>(steps: Generator<void, T, void>): Promise<T> {
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await nextTurn();
  }
}

/**
 * Whether a delta moves a policy between zones (or into or out of one): the engine applies an
 * update in the repository of the policy's new zone only, so the old copy would stay.
 */
function movesZone(deltas: readonly RangerPolicyDelta[], policies: ReadonlyMap<number, RangerPolicy>): boolean {
  const zones = new Map<number, string>();
  for (const d of deltas) {
    const id = d.policy?.id;
    if (id === undefined) continue;
    const before = zones.get(id) ?? policies.get(id)?.zoneName ?? "";
    const after = d.policy.zoneName ?? "";
    if (d.changeType === 1 && before !== after) return true;
    zones.set(id, after);
  }
  return false;
}

/**
 * Whether the engine must be rebuilt to serve `state`: another service under the name, changed
 * configs or def, a policy or tag version that went back, or a changed tag-service link. A
 * forward move of either version alone is applied incrementally.
 */
function needsRebuild(current: LiveEngine, state: ServiceState): boolean {
  return (
    state.id !== current.serviceId ||
    state.updatedAt.getTime() !== current.serviceUpdatedAt ||
    state.defUpdatedAt.getTime() !== current.defUpdatedAt ||
    state.policyVersion < current.version ||
    state.tagVersion < current.tagVersion ||
    tagServiceChanged(current.tag, state)
  );
}

/** Whether the link, or the linked tag service's configs, enabled state or def, changed since the build. */
function tagServiceChanged(built: LiveTagService | null, state: ServiceState): boolean {
  const now = state.tagService;
  if (!built || !now) return built !== now;
  return (
    built.id !== now.id ||
    built.isEnabled !== now.isEnabled ||
    built.updatedAt !== now.updatedAt.getTime() ||
    built.defUpdatedAt !== now.defUpdatedAt.getTime()
  );
}
