import type { RangerPolicy } from "../../engine/types.ts";
import { canonicalJson } from "../../policies/policies.service.ts";
import { normalizePolicy } from "../../policies/policy-model.ts";
import { TargetError } from "../target.ts";
import type { RangerTargetConfig } from "./ranger-target.ts";

/**
 * The label every policy Gatehouse pushes carries on the target: what marks it as Gatehouse's,
 * so a reconcile removes only policies Gatehouse owns (visible in Ranger's UI, searchable with
 * `policyLabelsPartial`).
 */
export const OWNER_LABEL = "gatehouse";

const V2 = "/service/public/v2/api";
/** Policies per page when reading a Ranger service's policies. */
const PAGE = 500;

/**
 * The body sent for a Gatehouse policy: Gatehouse's own Ranger presentation (`present`) without
 * the fields the target owns (id, guid, version, times), in the mapped Ranger service, with the
 * owner label added.
 */
export function policyForTarget(presented: RangerPolicy, rangerService: string): RangerPolicy {
  const body = normalizePolicy(presented);
  const labels = new Set([...(body.policyLabels ?? []), OWNER_LABEL]);
  return { ...body, service: rangerService, policyLabels: [...labels].sort() };
}

/** True when the target's policy says what Gatehouse would send (server fields and order of labels aside). */
export function samePolicy(remote: RangerPolicy, desired: RangerPolicy): boolean {
  const canon = (p: RangerPolicy) => {
    const n = normalizePolicy(p);
    return canonicalJson({ ...n, policyLabels: [...(n.policyLabels ?? [])].sort() });
  };
  return canon(remote) === canon(desired);
}

/** True when the target's policy carries the owner label. */
export function isOwned(remote: RangerPolicy): boolean {
  return (remote.policyLabels ?? []).includes(OWNER_LABEL);
}

/**
 * Ranger Admin's public v2 policy API, as a ranger connector pushes policies with it: find by
 * service and name, create, replace by id, delete by service and name (a 404 is success), and
 * list a service's policies page by page for reconcile. Failures are `TargetError`s, as the
 * group target's, so the worker backs off and dead-letters alike.
 */
export class RangerPolicyClient {
  readonly #config: RangerTargetConfig;
  readonly #authorization: string;

  constructor(config: RangerTargetConfig) {
    this.#config = { ...config, baseUrl: config.baseUrl.replace(/\/+$/, "") };
    this.#authorization = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString("base64")}`;
  }

  /** The policy of `service` named `name` in `zone` (`""`: no zone), or null. */
  async find(service: string, name: string, zone: string): Promise<RangerPolicy | null> {
    const q = zone ? `?zoneName=${encodeURIComponent(zone)}` : "";
    const found = await this.#send(
      "GET",
      `${V2}/service/${encodeURIComponent(service)}/policy/${encodeURIComponent(name)}${q}`,
      undefined,
      true,
    );
    return (found as RangerPolicy | null) ?? null;
  }

  async create(body: RangerPolicy): Promise<RangerPolicy> {
    return (await this.#send("POST", `${V2}/policy`, body)) as RangerPolicy;
  }

  async replace(id: number, body: RangerPolicy): Promise<RangerPolicy> {
    return (await this.#send("PUT", `${V2}/policy/${id}`, { ...body, id })) as RangerPolicy;
  }

  /** Deletes the policy of `service` named `name` in `zone`; absent is success. */
  async remove(service: string, name: string, zone: string): Promise<void> {
    const q = new URLSearchParams({ servicename: service, policyname: name, ...(zone ? { zoneName: zone } : {}) });
    await this.#send("DELETE", `${V2}/policy?${q}`, undefined, true);
  }

  /**
   * Every policy of a Ranger service (all zones), read page by page until an empty page: a
   * Ranger Admin may answer fewer than the page size asked (its own maximum), so a short page is
   * not the last one.
   */
  async list(service: string): Promise<RangerPolicy[]> {
    const out: RangerPolicy[] = [];
    for (;;) {
      const page = (await this.#send(
        "GET",
        `${V2}/service/${encodeURIComponent(service)}/policy?startIndex=${out.length}&pageSize=${PAGE}`,
      )) as RangerPolicy[] | null;
      const list = page ?? [];
      out.push(...list);
      if (list.length === 0) return out;
    }
  }

  async #send(method: string, path: string, body?: unknown, missingIsNull = false): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.#config.baseUrl}${path}`, {
        method,
        headers: {
          authorization: this.#authorization,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#config.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new TargetError("ranger", undefined, `unreachable: ${method} ${path.split("?")[0]}: ${why}`, true);
    }
    const text = await res.text();
    if (res.status === 404 && missingIsNull) return null;
    if (!res.ok) {
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new TargetError(
        "ranger",
        res.status,
        `${res.status} ${method} ${path.split("?")[0]}: ${text.slice(0, 300)}`,
        retryable,
      );
    }
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return text;
    }
  }
}
