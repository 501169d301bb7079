import {
  type ConnectorTarget,
  type DeliveryReport,
  GROUP_ID_ATTRIBUTE,
  type GroupState,
  TargetError,
  type TargetGroupPage,
} from "../target.ts";

/** How to reach a Ranger Admin: its base URL and a user allowed to manage users and groups. */
export interface RangerTargetConfig {
  baseUrl: string;
  username: string;
  password: string;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

/** Entries per bulk call: usersync's `maxrecordsperapicall` default, Ranger's tested size. */
export const RANGER_BATCH = 1000;
/** Rows per page when reading Ranger's user and group lists. */
const PAGE = 1000;
/** What usersync writes as the sync source of what Gatehouse pushed. */
const SYNC_SOURCE = "gatehouse";
/** How long the remote view is trusted before it is read again (changes made by hand on Ranger). */
const CACHE_TTL_MS = 5 * 60_000;

const XUSERS = "/service/xusers";

interface RemoteGroup {
  name: string;
  attributes: Record<string, string[]>;
  visible: boolean;
}

interface RemoteView {
  users: Set<string>;
  groups: Map<string, RemoteGroup>;
  members: Map<string, Set<string>>;
  readAt: number;
}

const key = (name: string) => name.toLowerCase();

/** Ranger keeps `otherAttributes` as a map of strings: one JSON array per Gatehouse attribute. */
function encodeAttributes(attributes: Record<string, string[]>): string {
  const out: Record<string, string> = { sync_source: SYNC_SOURCE };
  for (const [k, v] of Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1))) out[k] = JSON.stringify(v);
  return JSON.stringify(out);
}

function decodeAttributes(text: unknown): Record<string, string[]> {
  if (typeof text !== "string" || text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== "object") return {};
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (k === "sync_source") continue;
    if (typeof v !== "string") continue;
    try {
      const list = JSON.parse(v);
      out[k] = Array.isArray(list) ? list.map(String) : [v];
    } catch {
      out[k] = [v];
    }
  }
  return out;
}

/** Same attributes, whatever the order of keys and values. */
export function sameAttributes(a: Record<string, string[]>, b: Record<string, string[]>): boolean {
  const canon = (x: Record<string, string[]>) =>
    JSON.stringify(
      Object.keys(x)
        .sort()
        .map((k) => [k, [...(x[k] ?? [])].sort()]),
    );
  return canon(a) === canon(b);
}

/**
 * A Ranger Admin as a connector target, written to exactly as Ranger usersync writes
 * (PolicyMgrUserGroupBuilder): users, groups and memberships through the bulk `ugsync` endpoints
 * in batches of at most 1,000, `firstName` always set, and only the deltas against what Ranger
 * holds (read once, then kept in step with what was sent, and read again after any failure or
 * after five minutes). Ranger's groups are flat: a group is its last path element and carries its
 * effective members. A deleted group loses its members and is hidden (`isVisible` 0), as usersync
 * does with groups gone from its source; Ranger never deletes it.
 */
export class RangerTarget implements ConnectorTarget {
  readonly kind = "ranger" as const;
  readonly membership = "effective" as const;
  readonly #config: RangerTargetConfig;
  readonly #authorization: string;
  #view: RemoteView | null = null;
  /** The group → members map read at the start of a `listGroups` walk. */
  #listing: Map<string, Set<string>> | null = null;

  constructor(config: RangerTargetConfig) {
    this.#config = { ...config, baseUrl: config.baseUrl.replace(/\/+$/, "") };
    this.#authorization = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString("base64")}`;
  }

  invalidate(): void {
    this.#view = null;
  }

  async check(): Promise<{ ok: boolean; detail: string }> {
    try {
      const page = (await this.#send("GET", `${XUSERS}/groups?pageSize=1&startIndex=0`)) as { totalCount?: number };
      await this.#send("GET", `${XUSERS}/ugsync/groupusers`);
      return { ok: true, detail: `reached Ranger Admin at ${this.#config.baseUrl}: ${page.totalCount ?? 0} groups` };
    } catch (err) {
      return { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async upsertGroup(group: GroupState): Promise<DeliveryReport> {
    const [report] = await this.upsertGroups([group]);
    return report ?? { missingUsers: [] };
  }

  async upsertGroups(groups: GroupState[]): Promise<DeliveryReport[]> {
    try {
      return await this.#upsert(groups);
    } catch (err) {
      this.#view = null;
      throw err;
    }
  }

  async #upsert(groups: GroupState[]): Promise<DeliveryReport[]> {
    const view = await this.#remote();
    const newUsers = new Map<string, string>();
    for (const g of groups) for (const u of g.members) if (!view.users.has(key(u))) newUsers.set(key(u), u);
    await this.#push(
      `${XUSERS}/ugsync/users`,
      [...newUsers.values()].map((name) => ({
        name,
        firstName: name,
        description: `${name} - from Gatehouse`,
        userSource: "1",
        status: "1",
        isVisible: "1",
        userRoleList: ["ROLE_USER"],
        groupNameList: [],
        otherAttributes: JSON.stringify({ sync_source: SYNC_SOURCE }),
        syncSource: SYNC_SOURCE,
      })),
      (slice) => ({ vXUsers: slice, totalCount: slice.length }),
    );
    for (const k of newUsers.keys()) view.users.add(k);

    const changedGroups = groups.filter((g) => {
      const remote = view.groups.get(key(nameOf(g)));
      return !remote?.visible || !sameAttributes(remote.attributes, g.attributes);
    });
    await this.#push(
      `${XUSERS}/ugsync/groups/`,
      changedGroups.map((g) => ({
        name: nameOf(g),
        description: g.path.join("/"),
        groupType: "1",
        isVisible: "1",
        groupSource: "1",
        otherAttributes: encodeAttributes(g.attributes),
        syncSource: SYNC_SOURCE,
      })),
      (slice) => ({ vXGroups: slice, totalCount: slice.length }),
    );
    for (const g of changedGroups) {
      view.groups.set(key(nameOf(g)), { name: nameOf(g), attributes: g.attributes, visible: true });
    }

    const deltas: { groupName: string; addUsers?: string[]; delUsers?: string[] }[] = [];
    for (const g of groups) {
      const old = view.members.get(key(nameOf(g))) ?? new Set<string>();
      const wanted = new Set(g.members);
      const addUsers = [...wanted].filter((u) => !old.has(u));
      const delUsers = [...old].filter((u) => !wanted.has(u));
      if (addUsers.length === 0 && delUsers.length === 0) continue;
      deltas.push({
        groupName: nameOf(g),
        ...(addUsers.length ? { addUsers } : {}),
        ...(delUsers.length ? { delUsers } : {}),
      });
    }
    await this.#push(`${XUSERS}/ugsync/groupusers`, deltas, (slice) => slice);
    for (const g of groups) view.members.set(key(nameOf(g)), new Set(g.members));
    return groups.map(() => ({ missingUsers: [] }));
  }

  async deleteGroup(group: Pick<GroupState, "gatehouseId" | "path">): Promise<void> {
    try {
      const view = await this.#remote();
      const name = group.path[group.path.length - 1];
      if (!name) return;
      const remote = view.groups.get(key(name));
      const members = view.members.get(key(name));
      if (members && members.size > 0) {
        await this.#push(
          `${XUSERS}/ugsync/groupusers`,
          [{ groupName: remote?.name ?? name, delUsers: [...members] }],
          (s) => s,
        );
      }
      view.members.delete(key(name));
      if (remote?.visible) {
        await this.#send("POST", `${XUSERS}/ugsync/groups/visibility`, [remote.name]);
        remote.visible = false;
      }
    } catch (err) {
      this.#view = null;
      throw err;
    }
  }

  async listGroups(cursor?: string): Promise<TargetGroupPage> {
    const start = cursor ? Number.parseInt(cursor, 10) || 0 : 0;
    if (start === 0 || !this.#listing) {
      this.#view = null;
      this.#listing = await this.#groupUsers();
    }
    const page = (await this.#send("GET", `${XUSERS}/groups?pageSize=${PAGE}&startIndex=${start}&isVisible=1`)) as {
      vXGroups?: { name: string; otherAttributes?: string | null }[];
      totalCount?: number;
    };
    const list = page.vXGroups ?? [];
    const groups = list.map((g): GroupState => {
      const attributes = decodeAttributes(g.otherAttributes);
      return {
        gatehouseId: attributes[GROUP_ID_ATTRIBUTE]?.[0] ?? "",
        path: [g.name],
        attributes,
        members: [...(this.#listing?.get(key(g.name)) ?? [])],
      };
    });
    const next = start + list.length;
    return list.length > 0 && next < (page.totalCount ?? 0) ? { groups, next: String(next) } : { groups };
  }

  /** What Ranger holds: read in full when not cached (or cached too long). */
  async #remote(): Promise<RemoteView> {
    if (this.#view && Date.now() - this.#view.readAt < CACHE_TTL_MS) return this.#view;
    const users = new Set<string>();
    for (const u of await this.#readAll<{ name: string; isVisible?: number }>(`${XUSERS}/users`, "vXUsers")) {
      if (u.isVisible !== 0) users.add(key(u.name));
    }
    const groups = new Map<string, RemoteGroup>();
    for (const g of await this.#readAll<{ name: string; otherAttributes?: string | null; isVisible?: number }>(
      `${XUSERS}/groups`,
      "vXGroups",
    )) {
      groups.set(key(g.name), {
        name: g.name,
        attributes: decodeAttributes(g.otherAttributes),
        visible: g.isVisible !== 0,
      });
    }
    const members = await this.#groupUsers();
    this.#view = { users, groups, members, readAt: Date.now() };
    return this.#view;
  }

  async #groupUsers(): Promise<Map<string, Set<string>>> {
    const map = (await this.#send("GET", `${XUSERS}/ugsync/groupusers`)) as Record<string, string[]> | null;
    return new Map(Object.entries(map ?? {}).map(([g, users]) => [key(g), new Set(users)]));
  }

  async #readAll<T>(url: string, field: string): Promise<T[]> {
    const out: T[] = [];
    for (;;) {
      const page = (await this.#send("GET", `${url}?pageSize=${PAGE}&startIndex=${out.length}`)) as Record<
        string,
        unknown
      >;
      const list = (page[field] ?? []) as T[];
      out.push(...list);
      if (list.length === 0 || out.length >= Number(page.totalCount ?? 0)) return out;
    }
  }

  async #push<T>(url: string, items: T[], wrap: (slice: T[]) => unknown): Promise<void> {
    for (let at = 0; at < items.length; at += RANGER_BATCH) {
      await this.#send("POST", url, wrap(items.slice(at, at + RANGER_BATCH)));
    }
  }

  async #send(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
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

function nameOf(group: Pick<GroupState, "path">): string {
  return group.path[group.path.length - 1] ?? "";
}
