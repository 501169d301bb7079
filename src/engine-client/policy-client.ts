import {
  createEngine,
  type EngineOptions,
  type PolicyEngine,
  type RangerAccessRequest,
  type RangerAccessResult,
  type RangerPolicy,
  type RangerRoles,
  type ServicePolicies,
} from "../engine/index.ts";

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
 * A policy client for Node services: it downloads a service's policies and roles from Gatehouse
 * with Ranger's plugin protocol (`/service/plugins/policies/download`, `/service/roles/download`),
 * keeps a local engine, and polls for changes, applying policy deltas when the server sends them
 * and rebuilding only on a full download or a role change. Decisions are then in-process and
 * synchronous, the way a Ranger plugin decides; a failed poll leaves the last engine in place.
 */
export class PolicyClient {
  readonly #o: PolicyClientOptions;
  readonly #fetch: typeof fetch;
  #engine: PolicyEngine | null = null;
  #servicePolicies: ServicePolicies | null = null;
  #policies = new Map<number, RangerPolicy>();
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
    const roles = await this.#get<RangerRoles>(`/service/roles/download/${encodeURIComponent(this.#o.serviceName)}`, {
      lastKnownRoleVersion: String(this.roleVersion),
    });
    const policies = await this.#get<ServicePolicies>(
      `/service/plugins/policies/download/${encodeURIComponent(this.#o.serviceName)}`,
      { lastKnownVersion: String(this.policyVersion), supportsPolicyDeltas: "true" },
    );
    if (roles) this.#roles = roles;
    if (!policies && !roles) return false;
    if (policies?.policyDeltas && this.#engine && this.#servicePolicies && !roles) {
      // Deltas: update the engine in place, keep the policy list in step for a later rebuild.
      this.#engine.applyDeltas(policies.policyDeltas, undefined, policies.policyVersion);
      for (const d of policies.policyDeltas) {
        if (d.policy.id === undefined) continue;
        if (d.changeType === 2) this.#policies.delete(d.policy.id);
        else this.#policies.set(d.policy.id, d.policy);
      }
      this.#servicePolicies = { ...this.#servicePolicies, policyVersion: policies.policyVersion };
    } else {
      if (policies?.policyDeltas) {
        for (const d of policies.policyDeltas) {
          if (d.policy.id === undefined) continue;
          if (d.changeType === 2) this.#policies.delete(d.policy.id);
          else this.#policies.set(d.policy.id, d.policy);
        }
        this.#servicePolicies = { ...(this.#servicePolicies ?? policies), policyVersion: policies.policyVersion };
      } else if (policies) {
        this.#servicePolicies = policies;
        this.#policies = new Map((policies.policies ?? []).map((p) => [p.id as number, p]));
      }
      this.#rebuild();
    }
    this.#o.onUpdate?.(this.policyVersion);
    return true;
  }

  #rebuild(): void {
    const sp = this.#servicePolicies;
    if (!sp?.serviceDef) throw new Error("policy download carried no service definition");
    this.#engine = createEngine(
      {
        serviceName: sp.serviceName,
        serviceDef: sp.serviceDef,
        policies: [...this.#policies.values()],
        roles: this.#roles?.rangerRoles ?? [],
        serviceConfig: { raw: sp.serviceConfig ?? {} },
        policyVersion: sp.policyVersion,
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
