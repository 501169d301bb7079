import {
  createEngine,
  diffServiceTags,
  type EngineOptions,
  HeldServiceTags,
  type PolicyEngine,
  type RangerAccessRequest,
  type RangerAccessResult,
  type RangerPolicy,
  type RangerPolicyDelta,
  type RangerRoles,
  type SecurityZoneInfo,
  type ServicePolicies,
  type ServiceTags,
  type TagPolicies,
} from "../engine/index.ts";
import { splitPoliciesByZone } from "../zones/zone-policies.ts";

/** How to reach the server and how often to ask it. */
export interface PolicyClientOptions {
  /** Base URL of a Gatehouse server, e.g. `http://gatehouse:8080`. */
  serverUrl: string;
  /** The service whose policies to enforce. */
  serviceName: string;
  /** Credential headers, e.g. `{ "authorization-psk": key }` or `{ authorization: "Basic …" }`. */
  headers?: Record<string, string>;
  /** Milliseconds between polls; 0 polls only when `refresh` is called. Default 30 s (Ranger's). */
  pollIntervalMs?: number;
  /** Recorded by the server and listed at `GET /v1/services/{service}/plugins`. */
  pluginId?: string;
  clusterName?: string;
  /** Options of the local engine. */
  engineOptions?: EngineOptions;
  /** Called when a poll fails; the engine keeps serving the last policies it had. */
  onError?: (err: unknown) => void;
  /** Called after the engine changed (new version or roles). */
  onUpdate?: (policyVersion: number) => void;
  fetch?: typeof fetch;
}

/**
 * A policy client for Node services: it downloads a service's policies, roles and resource tags
 * from Gatehouse with Ranger's plugin protocol (`/service/plugins/policies/download`,
 * `/service/roles/download`, `/service/tags/download`), keeps a local engine, and polls for
 * changes, applying policy deltas (tag policy deltas included) when the server sends them,
 * asking for resource-tag deltas (`supportsTagDeltas=true`) and applying them in place
 * (`applyServiceTags`), applying a whole resource-tag document, when the server sends one, as its
 * difference from the one held (`diffServiceTags`), and rebuilding only on a full policy download,
 * a role change, a zone change or a change of tag service. Decisions are then in-process and synchronous, the way a Ranger
 * plugin decides; a failed poll leaves the last engine in place.
 */
export class PolicyClient {
  readonly #o: PolicyClientOptions;
  readonly #fetch: typeof fetch;
  #engine: PolicyEngine | null = null;
  #servicePolicies: ServicePolicies | null = null;
  /** Resource policies by id, the zones' included (each carries its `zoneName`). */
  #policies = new Map<number, RangerPolicy>();
  /** The service's security zones (resources, tag-service flag), without their policies. */
  #zones: Record<string, SecurityZoneInfo> = {};
  /** The linked tag service's header (def, config) and its policies by id; null when none. */
  #tagPolicies: TagPolicies | null = null;
  #tagPolicyMap = new Map<number, RangerPolicy>();
  /** The resource-tag document, kept current by the tag deltas downloaded; null before the first. */
  #serviceTags: HeldServiceTags | null = null;
  #roles: RangerRoles | null = null;
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<boolean> | null = null;

  constructor(options: PolicyClientOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Loads the policies (throws when the first download fails), then polls. */
  async start(): Promise<this> {
    await this.refresh();
    const every = this.#o.pollIntervalMs ?? 30_000;
    if (every > 0 && !this.#timer) {
      this.#timer = setInterval(() => {
        this.refresh().catch((err) => this.#o.onError?.(err));
      }, every);
      this.#timer.unref();
    }
    return this;
  }

  /** Stops polling. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The local engine; throws before the first successful download. */
  get engine(): PolicyEngine {
    if (!this.#engine) throw new Error("policy client has not loaded policies yet: await start()");
    return this.#engine;
  }

  /** Policy version the local engine serves (-1 before the first download). */
  get policyVersion(): number {
    return this.#servicePolicies?.policyVersion ?? -1;
  }

  /** Role version held (-1 before the first download). */
  get roleVersion(): number {
    return this.#roles?.roleVersion ?? -1;
  }

  /** Resource-tag version held (-1 before the first download). */
  get tagVersion(): number {
    return this.#serviceTags?.tagVersion ?? -1;
  }

  /** The resource-tag document held, tag deltas applied (null before the first download); never mutate it. */
  get serviceTags(): ServiceTags | null {
    return this.#serviceTags?.document ?? null;
  }

  /** Access decision by the local engine. */
  isAccessAllowed(request: RangerAccessRequest): RangerAccessResult {
    return this.engine.isAccessAllowed(request);
  }

  /** Polls once; true when the engine changed. Concurrent calls share one poll. */
  refresh(): Promise<boolean> {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  async #poll(): Promise<boolean> {
    const service = encodeURIComponent(this.#o.serviceName);
    const roles = await this.#get<RangerRoles>(`/service/roles/download/${service}`, {
      lastKnownRoleVersion: String(this.roleVersion),
    });
    const policies = await this.#get<ServicePolicies>(`/service/plugins/policies/download/${service}`, {
      lastKnownVersion: String(this.policyVersion),
      supportsPolicyDeltas: "true",
    });
    const tags = await this.#get<ServiceTags>(`/service/tags/download/${service}`, {
      lastKnownVersion: String(this.tagVersion),
      supportsTagDeltas: "true",
    });
    const held = this.#serviceTags;
    if (tags?.isDelta === true && !held) throw new Error("tag download sent a delta to a client holding no tags");
    // A whole document is applied to the engine as its difference from the one held.
    const previousTags = tags && tags.isDelta !== true && held ? held.document : null;
    if (roles) this.#roles = roles;
    if (tags) {
      if (held) held.apply(tags);
      else this.#serviceTags = new HeldServiceTags(tags);
    }
    if (!policies && !roles && !tags) return false;
    const hadTagRepo = this.#tagPolicies !== null;
    // Ranger sends zone policies (and their deltas) under `securityZones`: one list for tracking.
    const deltas = policies?.policyDeltas ? allDeltas(policies) : null;
    let zonesChanged = false;
    if (policies && deltas && this.#servicePolicies) {
      zonesChanged = !sameZones(this.#zones, policies.securityZones ?? {}) || this.#movesZone(deltas);
      this.#zones = zoneHeaders(policies.securityZones ?? {});
      this.#track(deltas);
      if (policies.tagPolicies) this.#tagPolicies = { ...policies.tagPolicies, policies: undefined };
      this.#servicePolicies = { ...this.#servicePolicies, policyVersion: policies.policyVersion };
    } else if (policies) {
      this.#servicePolicies = policies;
      const zoned = Object.values(policies.securityZones ?? {}).flatMap((z) => z.policies ?? []);
      this.#policies = new Map([...(policies.policies ?? []), ...zoned].map((p) => [p.id as number, p]));
      this.#zones = zoneHeaders(policies.securityZones ?? {});
      this.#tagPolicies = policies.tagPolicies ? { ...policies.tagPolicies, policies: undefined } : null;
      this.#tagPolicyMap = new Map((policies.tagPolicies?.policies ?? []).map((p) => [p.id as number, p]));
    }
    const engine = this.#engine;
    const incremental =
      engine && (!policies || deltas) && !roles && !zonesChanged && hadTagRepo === (this.#tagPolicies !== null);
    if (incremental) {
      // Deltas: update the engine in place (it routes tag policy deltas to its tag repository and
      // zone policy deltas, by their `zoneName`, to their zone's repository).
      if (deltas) engine.applyDeltas(deltas, undefined, policies?.policyVersion);
      // New resource tags: the server's delta, or what changed since the last document.
      if (tags) {
        engine.applyServiceTags(
          tags.isDelta === true ? tags : previousTags ? diffServiceTags(previousTags, tags) : tags,
        );
      }
    } else this.#rebuild();
    this.#o.onUpdate?.(this.policyVersion);
    return true;
  }

  /** Keeps the policy lists in step with deltas (for a later rebuild), tag policies apart. */
  #track(deltas: readonly RangerPolicyDelta[]): void {
    const tagType = this.#tagPolicies?.serviceDef?.name;
    for (const d of deltas) {
      if (d.policy.id === undefined) continue;
      const list = tagType && d.policy.serviceType === tagType ? this.#tagPolicyMap : this.#policies;
      if (d.changeType === 2) list.delete(d.policy.id);
      else list.set(d.policy.id, d.policy);
    }
  }

  /** Whether a delta moves a resource policy between zones (the engine would keep the old copy). */
  #movesZone(deltas: readonly RangerPolicyDelta[]): boolean {
    const tagType = this.#tagPolicies?.serviceDef?.name;
    return deltas.some(
      (d) =>
        d.changeType === 1 &&
        d.policy.id !== undefined &&
        !(tagType && d.policy.serviceType === tagType) &&
        (this.#policies.get(d.policy.id)?.zoneName ?? "") !== (d.policy.zoneName ?? ""),
    );
  }

  #rebuild(): void {
    const sp = this.#servicePolicies;
    if (!sp?.serviceDef) throw new Error("policy download carried no service definition");
    const split = splitPoliciesByZone([...this.#policies.values()], this.#zones);
    this.#engine = createEngine(
      {
        serviceName: sp.serviceName,
        serviceDef: sp.serviceDef,
        policies: split.policies,
        securityZones: split.securityZones,
        roles: this.#roles?.rangerRoles ?? [],
        serviceConfig: { raw: sp.serviceConfig ?? {} },
        policyVersion: sp.policyVersion,
        ...(this.#tagPolicies?.serviceDef
          ? {
              tagPolicies: {
                serviceName: this.#tagPolicies.serviceName,
                serviceDef: this.#tagPolicies.serviceDef,
                policies: [...this.#tagPolicyMap.values()],
                serviceConfig: this.#tagPolicies.serviceConfig ?? {},
              },
            }
          : {}),
        ...(this.#serviceTags ? { serviceTags: this.#serviceTags.document } : {}),
      },
      this.#o.engineOptions,
    );
  }

  /** GET with the plugin's query; null on 304. */
  async #get<T>(path: string, query: Record<string, string>): Promise<T | null> {
    const params = new URLSearchParams({
      ...query,
      ...(this.#o.pluginId ? { pluginId: this.#o.pluginId } : {}),
      ...(this.#o.clusterName ? { clusterName: this.#o.clusterName } : {}),
    });
    const url = `${this.#o.serverUrl.replace(/\/+$/, "")}${path}?${params}`;
    const res = await this.#fetch(url, { headers: { accept: "application/json", ...this.#o.headers } });
    if (res.status === 304) return null;
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
}

/** The top-level deltas followed by every zone's (`securityZones[zone].policyDeltas`). */
function allDeltas(sp: ServicePolicies): RangerPolicyDelta[] {
  return [...(sp.policyDeltas ?? []), ...Object.values(sp.securityZones ?? {}).flatMap((z) => z.policyDeltas ?? [])];
}

/** Zones without their policies or deltas: what the client keeps to rebuild. */
function zoneHeaders(zones: Record<string, SecurityZoneInfo>): Record<string, SecurityZoneInfo> {
  const out: Record<string, SecurityZoneInfo> = {};
  for (const [name, z] of Object.entries(zones)) {
    out[name] = {
      zoneName: z.zoneName ?? name,
      resources: z.resources ?? [],
      containsAssociatedTagService: z.containsAssociatedTagService === true,
    };
  }
  return out;
}

/** Whether two zone sets have the same names, resources and tag-service flags. */
function sameZones(held: Record<string, SecurityZoneInfo>, sent: Record<string, SecurityZoneInfo>): boolean {
  return JSON.stringify(zoneHeaders(held)) === JSON.stringify(zoneHeaders(sent));
}
