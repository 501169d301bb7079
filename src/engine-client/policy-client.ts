import {
  createEngine,
  diffServiceTags,
  type EngineInput,
  type EngineOptions,
  HeldServiceTags,
  type PolicyEngine,
  type RangerAccessRequest,
  type RangerAccessResult,
  type RangerRoles,
  type ServicePolicies,
  type ServiceTags,
} from "../engine/index.ts";
import {
  allDeltas,
  type ClientDocuments,
  type Downloads,
  documentsAfter,
  engineInputOf,
  headersAfter,
  movesZone,
  noDocuments,
  sameZones,
  trackDeltas,
} from "./client-documents.ts";

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
  /**
   * Builds the local engine; default `createEngine`. A seam for a host that wraps or instruments
   * its engine, and for tests that need an engine refusing an update (the server's validation
   * keeps it from sending anything the stock engine throws on).
   */
  engineFactory?: (input: EngineInput, options?: EngineOptions) => PolicyEngine;
  /**
   * Called when a timed poll fails (the client then holds and serves exactly what it had before
   * it), and when its engine refused an in-place update that a rebuild then took.
   */
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
 * a role change, a zone change or a change of tag service. Decisions are then in-process and
 * synchronous, the way a Ranger plugin decides.
 *
 * A poll is taken whole or not at all: the versions the client reports and asks with are always
 * those of the documents its engine was built or updated from, so a poll whose update fails
 * leaves documents, versions and decisions as they were, and the next poll asks again from
 * there (see `#take`).
 */
export class PolicyClient {
  readonly #o: PolicyClientOptions;
  readonly #fetch: typeof fetch;
  #engine: PolicyEngine | null = null;
  #docs: ClientDocuments = noDocuments();
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

  /**
   * The local engine; throws before the first successful download. A poll may replace it (a
   * rebuild), so ask the client each time rather than keeping the engine.
   */
  get engine(): PolicyEngine {
    if (!this.#engine) throw new Error("policy client has not loaded policies yet: await start()");
    return this.#engine;
  }

  /** Policy version the local engine serves (-1 before the first download). */
  get policyVersion(): number {
    return this.#docs.servicePolicies?.policyVersion ?? -1;
  }

  /** Role version the local engine serves (-1 before the first download). */
  get roleVersion(): number {
    return this.#docs.roles?.roleVersion ?? -1;
  }

  /** Resource-tag version the local engine serves (-1 before the first download). */
  get tagVersion(): number {
    return this.#docs.serviceTags?.tagVersion ?? -1;
  }

  /** The resource-tag document held, tag deltas applied (null before the first download); never mutate it. */
  get serviceTags(): ServiceTags | null {
    return this.#docs.serviceTags?.document ?? null;
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
    if (!policies && !roles && !tags) return false;
    this.#take({ roles, policies, tags });
    this.#o.onUpdate?.(this.policyVersion);
    return true;
  }

  /**
   * Brings engine and documents to the downloads, all or nothing. The new documents are computed
   * aside (`documentsAfter` leaves the held ones untouched) and committed only once an engine
   * reflects them:
   *
   * - Rebuild (a full download, a role, zone or tag-service change): the new engine is built
   *   aside; if the build throws, nothing was changed.
   * - In place (deltas, new resource tags): the live engine is updated first, then the documents.
   *   `applyDeltas` and `applyServiceTags` change the engine step by step and can throw halfway
   *   (a delta whose policy does not compile leaves the deltas before it applied, and that
   *   policy's old version removed), so after a throw the live engine is never served again. It is
   *   replaced by a rebuild from the new documents, as Ranger's `RangerBasePlugin.setPolicies`
   *   does when it cannot apply deltas: the engine may refuse only the in-place path (then this
   *   catches up now, where retrying the same deltas in place would fail at every poll), and when
   *   a later change fixed what an earlier delta broke, the new documents hold the fix. Only if the
   *   engine refuses the new documents too does it get rebuilt from the held ones, which it took
   *   before: the poll then fails with the in-place error, versions and decisions stay as they
   *   were (Ranger keeps its old engine), and the next poll asks again from those versions.
   * - Should even that rebuild fail (an engine refusing documents it took before), the client
   *   drops engine and documents alike rather than serve a half-updated engine: decisions throw
   *   as before `start`, and the next poll starts over with full downloads.
   */
  #take(d: Downloads): void {
    const held = this.#docs;
    if (d.tags?.isDelta === true && !held.serviceTags)
      throw new Error("tag download sent a delta to a client holding no tags");
    if (d.policies?.policyDeltas && !held.servicePolicies)
      throw new Error("policy download sent deltas to a client holding no policies");
    // Ranger sends zone policies (and their deltas) under `securityZones`: one list for tracking.
    const deltas = d.policies?.policyDeltas ? allDeltas(d.policies) : null;
    const headers = headersAfter(held, d);
    const engine = this.#engine;
    const inPlace =
      engine !== null &&
      (!d.policies || deltas !== null) &&
      !d.roles &&
      !(deltas && (!sameZones(held.zones, headers.zones) || movesZone(held, deltas))) &&
      (held.tagPolicies !== null) === (headers.tagPolicies !== null);
    if (!inPlace) {
      const next = documentsAfter(held, d);
      this.#engine = this.#build(next);
      this.#docs = next;
      return;
    }
    try {
      // Deltas: the engine routes tag policy deltas to its tag repository and zone policy deltas,
      // by their `zoneName`, to their zone's repository.
      if (deltas) engine.applyDeltas(deltas, undefined, d.policies?.policyVersion);
      // New resource tags: the server's delta, or what changed since the last document.
      const tags = d.tags;
      if (tags) {
        const previous = tags.isDelta !== true ? held.serviceTags?.document : undefined;
        engine.applyServiceTags(previous ? diffServiceTags(previous, tags) : tags);
      }
    } catch (err) {
      this.#recover(err, held, d);
      return;
    }
    // The engine took the poll: commit it in place, O(its size). `HeldServiceTags.apply` walks the
    // same lists the engine's tag store just walked, so it cannot throw on what the engine took.
    if (d.tags) {
      if (held.serviceTags) held.serviceTags.apply(d.tags);
      else held.serviceTags = new HeldServiceTags(d.tags);
    }
    if (deltas) trackDeltas(held, deltas);
    Object.assign(held, headers);
  }

  /** After a failed in-place update: a rebuild from the new documents, else from the held ones (see `#take`). */
  #recover(err: unknown, held: ClientDocuments, d: Downloads): void {
    let next: ClientDocuments;
    let engine: PolicyEngine;
    try {
      next = documentsAfter(held, d);
      engine = this.#build(next);
    } catch {
      try {
        this.#engine = this.#build(held);
      } catch (rebuildErr) {
        this.#engine = null;
        this.#docs = noDocuments();
        throw new AggregateError(
          [err, rebuildErr],
          "policy client: the engine refused an update and a rebuild from the policies it held; it starts over",
        );
      }
      throw err;
    }
    this.#engine = engine;
    this.#docs = next;
    this.#o.onError?.(err);
  }

  #build(docs: ClientDocuments): PolicyEngine {
    return (this.#o.engineFactory ?? createEngine)(engineInputOf(docs), this.#o.engineOptions);
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
