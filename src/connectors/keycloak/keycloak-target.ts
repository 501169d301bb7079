import KeycloakAdminClient, { NetworkError } from "@keycloak/keycloak-admin-client";
import type GroupRepresentation from "@keycloak/keycloak-admin-client/lib/defs/groupRepresentation.js";
import type { ConnectorTarget, DeliveryReport, GroupState, TargetGroupPage } from "../target.ts";
import { GROUP_ID_ATTRIBUTE, TargetError } from "../target.ts";

/** Where and how a Keycloak target connects; the secret arrives decrypted from the connector's stored config. */
export interface KeycloakTargetOptions {
  /** Keycloak's base URL, without `/admin` (e.g. `https://sso.example.org`; with `/auth` for Keycloak < 17). */
  baseUrl: string;
  realm: string;
  /** A confidential client with a service account holding realm-management `manage-users` (groups need it too). */
  clientId: string;
  clientSecret: string;
  /** Milliseconds for every single HTTP call, the token request included. */
  timeoutMs?: number;
  /** `max` for every paged read (groups, subgroups, members). */
  pageSize?: number;
  /** Create a user that does not exist in Keycloak instead of reporting it as missing. */
  createMissingUsers?: boolean;
  /** Concurrent calls for memberships and listing. */
  concurrency?: number;
}

const TARGET = "keycloak";

/**
 * The Keycloak target: carries Gatehouse groups (nested as subgroups under the same path), their attributes and their
 * direct memberships into one realm through the admin REST API, with the vendor's `@keycloak/keycloak-admin-client`.
 * Every method is idempotent: a 409 on create means "look the group up and reconcile", a 404 on delete is success,
 * and a replay of the same state sends no write at all.
 */
export class KeycloakTarget implements ConnectorTarget {
  readonly kind = "keycloak" as const;
  readonly membership = "direct" as const;
  readonly #opts: Required<KeycloakTargetOptions>;
  readonly #kc: KeycloakAdminClient;
  readonly #auth: KeycloakAdminClient;
  #token: { value: string; exp: number; roles: string[] } | undefined;
  #tokenInFlight: Promise<string> | undefined;
  /** Username → Keycloak user id. Ids are stable; an entry found stale (404 on join) is dropped and looked up again. */
  readonly #userIds = new Map<string, string>();

  constructor(opts: KeycloakTargetOptions) {
    this.#opts = { timeoutMs: 10_000, pageSize: 100, createMissingUsers: false, concurrency: 8, ...opts };
    const connection = { baseUrl: opts.baseUrl, realmName: opts.realm, timeout: this.#opts.timeoutMs };
    this.#kc = new KeycloakAdminClient(connection);
    this.#auth = new KeycloakAdminClient(connection);
    // Client-credentials tokens come without a refresh token, so the client's own refresh cannot be used: we hand it
    // tokens ourselves, fetched again shortly before they expire and once more after a 401.
    this.#kc.registerTokenProvider({ getAccessToken: () => this.#accessToken() });
  }

  async check(): Promise<{ ok: boolean; detail: string }> {
    try {
      await this.#accessToken();
      await this.#call("list groups", () => this.#kc.groups.find({ realm: this.#opts.realm, first: 0, max: 1 }));
      await this.#call("list users", () => this.#kc.users.find({ realm: this.#opts.realm, first: 0, max: 1 }));
      const roles = this.#token?.roles ?? [];
      if (!roles.includes("manage-users")) {
        return {
          ok: false,
          detail: `the service account of \`${this.#opts.clientId}\` lacks the realm-management role \`manage-users\` (needed to write groups and memberships)`,
        };
      }
      return { ok: true, detail: `token, realm \`${this.#opts.realm}\`, list groups and users, manage-users: ok` };
    } catch (err) {
      const e = err instanceof TargetError ? err : this.#toTargetError("check", err);
      return { ok: false, detail: e.message };
    }
  }

  async upsertGroup(group: GroupState): Promise<DeliveryReport> {
    validatePath(group.path);
    const desired = { ...group.attributes, [GROUP_ID_ATTRIBUTE]: [group.gatehouseId] };
    const { rep, created } = await this.#ensurePath(group.path, group.gatehouseId, desired);
    if (!created && !(rep.attributes?.[GROUP_ID_ATTRIBUTE] ?? []).includes(group.gatehouseId)) {
      await this.#absorbStrays(rep.id!, group.gatehouseId);
    }
    if (!created && !sameAttributes(rep.attributes ?? {}, desired)) {
      const name = group.path[group.path.length - 1];
      await this.#call("update group", () =>
        this.#kc.groups.update(
          { id: rep.id!, realm: this.#opts.realm },
          { name, description: rep.description, attributes: desired },
        ),
      );
    }
    return this.#setMembers(rep.id!, created, group.members);
  }

  async deleteGroup(group: Pick<GroupState, "gatehouseId" | "path">): Promise<void> {
    // Found by its attribute, not by its path: a group at that path not carrying this id is not ours to delete, and
    // the attribute search also finds it where a hand edit moved it.
    const ours = (await this.#findByGatehouseId(group.gatehouseId)).map((rep) => rep.id!);
    for (const id of ours) {
      await this.#call("delete group", async () => {
        try {
          await this.#kc.groups.del({ id, realm: this.#opts.realm });
        } catch (err) {
          if (statusOf(err) !== 404) throw err; // already gone: success
        }
      });
    }
  }

  async listGroups(cursor?: string): Promise<TargetGroupPage> {
    const first = cursor ? Number(cursor) : 0;
    if (!Number.isInteger(first) || first < 0) throw new TargetError(TARGET, undefined, "bad listGroups cursor", false);
    const max = this.#opts.pageSize;
    const top = await this.#call("list groups", () =>
      this.#kc.groups.find({ realm: this.#opts.realm, first, max, briefRepresentation: false }),
    );
    const reps: GroupRepresentation[] = [];
    const collect = async (rep: GroupRepresentation): Promise<void> => {
      reps.push(rep);
      if ((rep.subGroupCount ?? 1) === 0) return;
      const children = await this.#pages("list subgroups", (f, m) =>
        this.#kc.groups.listSubGroups({
          parentId: rep.id!,
          realm: this.#opts.realm,
          first: f,
          max: m,
          briefRepresentation: false,
        }),
      );
      await pool(children, this.#opts.concurrency, collect);
    };
    await pool(top, this.#opts.concurrency, collect);
    const groups = await pool(reps, this.#opts.concurrency, async (rep) => ({
      gatehouseId: rep.attributes?.[GROUP_ID_ATTRIBUTE]?.[0] ?? "",
      path: (rep.path ?? `/${rep.name}`).replace(/^\//, "").split("/"),
      attributes: (rep.attributes ?? {}) as Record<string, string[]>,
      members: (await this.#members(rep.id!)).map((m) => m.username).sort(),
    }));
    return top.length === max ? { groups, next: String(first + max) } : { groups };
  }

  // ---- groups ----

  /**
   * The group at `path`. When absent, a group carrying the same Gatehouse id elsewhere (the Gatehouse group was
   * renamed or moved) is moved and renamed there; otherwise it is created, with its missing ancestors (which get no
   * attributes until their own Gatehouse group arrives). A 409 on create means another writer got there first: the
   * group is looked up and reconciled.
   */
  async #ensurePath(
    path: string[],
    gatehouseId: string,
    leafAttributes: Record<string, string[]>,
  ): Promise<{ rep: GroupRepresentation; created: boolean }> {
    const existing = await this.#byPath(path);
    if (existing) return { rep: existing, created: false };
    const elsewhere = await this.#findByGatehouseId(gatehouseId);
    const parent = path.length > 1 ? await this.#ensureGroup(path.slice(0, -1)) : undefined;
    const name = path[path.length - 1];
    if (elsewhere.length > 0) {
      const moved = elsewhere[0];
      try {
        if (moved.parentId !== parent?.id) {
          // Keycloak moves a group when the create carries its id (GroupsResource/GroupResource.addChild).
          await this.#call("move group", () =>
            parent
              ? this.#kc.groups.updateChildGroup(
                  { id: parent.id!, realm: this.#opts.realm },
                  { id: moved.id, name: moved.name },
                )
              : this.#kc.groups.updateRoot({ realm: this.#opts.realm, id: moved.id, name: moved.name }),
          );
        }
        if (moved.name !== name) {
          await this.#call("rename group", () =>
            this.#kc.groups.update(
              { id: moved.id!, realm: this.#opts.realm },
              { name, description: moved.description, attributes: leafAttributes },
            ),
          );
          return { rep: { ...moved, name, attributes: leafAttributes }, created: false };
        }
        return { rep: moved, created: false };
      } catch (err) {
        // A group of that name appeared at the destination meanwhile: fall back to reconciling that one.
        if (!(err instanceof TargetError) || err.status !== 409) throw err;
        const found = await this.#byPath(path);
        if (found) return { rep: found, created: false };
        throw err;
      }
    }
    return this.#create(path, parent, leafAttributes);
  }

  /**
   * The group at the path was found without this Gatehouse id (a bare ancestor a subgroup's delivery created, or a
   * group another writer made): any group still carrying the id elsewhere (at the old path of a renamed or moved
   * group) would stay behind as a copy. Its subgroups move to `intoId` (a name taken there stays, its own delivery
   * reconciles it) and it is deleted; its members are set on `intoId` by this delivery.
   */
  async #absorbStrays(intoId: string, gatehouseId: string): Promise<void> {
    const strays = (await this.#findByGatehouseId(gatehouseId)).filter((rep) => rep.id !== intoId);
    for (const stray of strays) {
      const children = await this.#pages("list subgroups", (f, m) =>
        this.#kc.groups.listSubGroups({ parentId: stray.id!, realm: this.#opts.realm, first: f, max: m }),
      );
      for (const child of children) {
        try {
          await this.#call("move group", () =>
            this.#kc.groups.updateChildGroup(
              { id: intoId, realm: this.#opts.realm },
              { id: child.id, name: child.name },
            ),
          );
        } catch (err) {
          if (!(err instanceof TargetError) || err.status !== 409) throw err;
        }
      }
      await this.#call("delete group", async () => {
        try {
          await this.#kc.groups.del({ id: stray.id!, realm: this.#opts.realm });
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      });
    }
  }

  /** The group at `path`, created bare (with its ancestors) when absent. */
  async #ensureGroup(path: string[]): Promise<GroupRepresentation> {
    const existing = await this.#byPath(path);
    if (existing) return existing;
    const parent = path.length > 1 ? await this.#ensureGroup(path.slice(0, -1)) : undefined;
    return (await this.#create(path, parent, undefined)).rep;
  }

  async #create(
    path: string[],
    parent: GroupRepresentation | undefined,
    attributes: Record<string, string[]> | undefined,
  ): Promise<{ rep: GroupRepresentation; created: boolean }> {
    const name = path[path.length - 1];
    const body = { name, ...(attributes ? { attributes } : {}) };
    try {
      const { id } = await this.#call("create group", () =>
        parent
          ? this.#kc.groups.createChildGroup({ id: parent.id!, realm: this.#opts.realm }, body)
          : this.#kc.groups.create({ realm: this.#opts.realm, ...body }),
      );
      return { rep: { id, name, parentId: parent?.id, attributes: attributes ?? {} }, created: true };
    } catch (err) {
      if (!(err instanceof TargetError) || err.status !== 409) throw err;
      // "Top level group named 'x' already exists." / "Sibling group named 'x' already exists.": reconcile.
      const found = await this.#byPath(path);
      if (!found) throw new TargetError(TARGET, 409, `409 conflict on \`${path.join("/")}\` but no group there`, true);
      return { rep: found, created: false };
    }
  }

  /** Groups carrying `gatehouse.id = gatehouseId`, wherever they are (attribute search, full representations). */
  async #findByGatehouseId(gatehouseId: string): Promise<GroupRepresentation[]> {
    const tree = await this.#call("search groups by attribute", () =>
      this.#kc.groups.find({
        realm: this.#opts.realm,
        q: `${GROUP_ID_ATTRIBUTE}:${gatehouseId}`,
        briefRepresentation: false,
      }),
    );
    const ours: GroupRepresentation[] = [];
    const walk = (reps: GroupRepresentation[]) => {
      for (const rep of reps) {
        if (rep.attributes?.[GROUP_ID_ATTRIBUTE]?.includes(gatehouseId)) ours.push(rep);
        walk(rep.subGroups ?? []);
      }
    };
    walk(tree);
    return ours;
  }

  async #byPath(path: string[]): Promise<GroupRepresentation | undefined> {
    const rep = await this.#call("get group by path", () =>
      this.#kc.realms.getGroupByPath({ realm: this.#opts.realm, path: `/${path.join("/")}` }, { catchNotFound: true }),
    );
    return rep ?? undefined;
  }

  // ---- memberships ----

  async #members(groupId: string): Promise<{ id: string; username: string }[]> {
    const users = await this.#pages("list members", (first, max) =>
      this.#kc.groups.listMembers({ id: groupId, realm: this.#opts.realm, first, max, briefRepresentation: true }),
    );
    return users.map((u) => ({ id: u.id!, username: u.username! }));
  }

  /** Makes the direct members exactly `usernames`; users Keycloak does not know are reported (or created). */
  async #setMembers(groupId: string, created: boolean, usernames: string[]): Promise<DeliveryReport> {
    const current = new Map((created ? [] : await this.#members(groupId)).map((m) => [m.username, m.id]));
    const wanted = new Map<string, string>();
    for (const name of usernames) wanted.set(name.toLowerCase(), name); // Keycloak stores usernames lower-cased
    const missingUsers: string[] = [];
    const toAdd = [...wanted.keys()].filter((u) => !current.has(u));
    await pool(toAdd, this.#opts.concurrency, async (username) => {
      for (let attempt = 0; attempt < 2; attempt++) {
        const userId = await this.#userId(username);
        if (!userId) {
          missingUsers.push(wanted.get(username)!);
          return;
        }
        try {
          await this.#call("add member", () =>
            this.#kc.users.addToGroup({ id: userId, groupId, realm: this.#opts.realm }),
          );
          return;
        } catch (err) {
          // "User not found": the cached id is stale (user deleted, perhaps recreated): look it up once more.
          if (!(err instanceof TargetError) || err.status !== 404 || attempt > 0) throw err;
          this.#userIds.delete(username);
        }
      }
    });
    const toRemove = [...current].filter(([u]) => !wanted.has(u));
    await pool(toRemove, this.#opts.concurrency, async ([, userId]) => {
      await this.#call("remove member", async () => {
        try {
          await this.#kc.users.delFromGroup({ id: userId, groupId, realm: this.#opts.realm });
        } catch (err) {
          if (statusOf(err) !== 404) throw err; // the user is gone, so is the membership
        }
      });
    });
    return { missingUsers: missingUsers.sort() };
  }

  /** The user's id by exact username (`exact=true`: without it Keycloak matches substrings, "ann" finding "anna"). */
  async #userId(username: string): Promise<string | undefined> {
    const cached = this.#userIds.get(username);
    if (cached) return cached;
    const id = await this.#lookUpUser(username);
    if (id) {
      if (this.#userIds.size >= 200_000) this.#userIds.clear();
      this.#userIds.set(username, id);
    }
    return id;
  }

  async #lookUpUser(username: string): Promise<string | undefined> {
    const find = async () => {
      const found = await this.#call("find user", () =>
        this.#kc.users.find({ realm: this.#opts.realm, username, exact: true }),
      );
      return found.find((u) => u.username?.toLowerCase() === username)?.id;
    };
    const id = await find();
    if (id || !this.#opts.createMissingUsers) return id;
    try {
      const created = await this.#call("create user", () =>
        this.#kc.users.create({ realm: this.#opts.realm, username, enabled: true }),
      );
      return created.id;
    } catch (err) {
      if (err instanceof TargetError && err.status === 409) return find(); // created meanwhile by another writer
      throw err;
    }
  }

  // ---- plumbing ----

  async #pages<T>(op: string, page: (first: number, max: number) => Promise<T[] | null>): Promise<T[]> {
    const max = this.#opts.pageSize;
    const all: T[] = [];
    for (let first = 0; ; first += max) {
      const items = (await this.#call(op, () => page(first, max))) ?? [];
      all.push(...items);
      if (items.length < max) return all;
    }
  }

  /** A token valid for at least 10 more seconds, fetched with the client-credentials grant when needed. */
  async #accessToken(): Promise<string> {
    if (this.#token && this.#token.exp - 10 > Date.now() / 1000) return this.#token.value;
    this.#tokenInFlight ??= (async () => {
      try {
        await this.#auth.auth({
          grantType: "client_credentials",
          clientId: this.#opts.clientId,
          clientSecret: this.#opts.clientSecret,
        });
      } catch (err) {
        const e = this.#toTargetError("get token", err);
        // A refused client (400/401 from the token endpoint) is a configuration error, not worth retrying.
        throw e.status === 400 || e.status === 401
          ? new TargetError(TARGET, e.status, `authentication failed: ${e.message}`, false)
          : e;
      } finally {
        this.#tokenInFlight = undefined;
      }
      const value = this.#auth.accessToken!;
      const claims = decodeClaims(value);
      this.#token = {
        value,
        exp: typeof claims.exp === "number" ? claims.exp : Date.now() / 1000 + 60,
        roles: claims.resource_access?.["realm-management"]?.roles ?? [],
      };
      return value;
    })();
    return this.#tokenInFlight;
  }

  /** Runs one admin call; a 401 drops the token and retries once with a fresh one; errors become TargetErrors. */
  async #call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof TargetError) throw err;
      if (statusOf(err) !== 401) throw this.#toTargetError(op, err);
    }
    this.#token = undefined;
    try {
      return await fn();
    } catch (err) {
      throw err instanceof TargetError ? err : this.#toTargetError(op, err);
    }
  }

  #toTargetError(op: string, err: unknown): TargetError {
    if (err instanceof TargetError) return err;
    const status = statusOf(err);
    if (status !== undefined) {
      const data = (err as NetworkError).responseData as Record<string, unknown> | string | undefined;
      const text =
        typeof data === "object" && data
          ? String(data.errorMessage ?? data.error_description ?? data.error ?? "")
          : String(data ?? "");
      const retryable = status >= 500 || status === 401 || status === 408 || status === 409 || status === 429;
      return new TargetError(TARGET, status, `${status} ${text || "error"} (${op})`.replace(/\s+/g, " "), retryable);
    }
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (e?.name === "TimeoutError" || e?.name === "AbortError") {
      return new TargetError(TARGET, undefined, `timeout after ${this.#opts.timeoutMs} ms (${op})`, true);
    }
    if (e?.name === "TypeError" && e.message === "fetch failed") {
      const code = e.cause?.code ?? e.cause?.message ?? "connection error";
      return new TargetError(TARGET, undefined, `unreachable: ${code} (${op})`, true);
    }
    return new TargetError(TARGET, undefined, `${e?.message ?? String(err)} (${op})`, false);
  }
}

function statusOf(err: unknown): number | undefined {
  if (err instanceof NetworkError) return err.response.status;
  if (err instanceof TargetError) return err.status;
  return undefined;
}

function validatePath(path: string[]): void {
  if (path.length === 0) throw new TargetError(TARGET, undefined, "group path is empty", false);
  for (const name of path) {
    // Keycloak splits group paths on "/" (group-by-path); a name containing one cannot be addressed reliably.
    if (name.trim() === "" || name.includes("/")) {
      throw new TargetError(
        TARGET,
        undefined,
        `group name \`${name}\` cannot be carried: empty or contains "/"`,
        false,
      );
    }
  }
}

function sameAttributes(a: Record<string, unknown>, b: Record<string, string[]>): boolean {
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  return keys.every((k) => {
    const x = a[k];
    return Array.isArray(x) && x.length === b[k].length && x.every((v, i) => v === b[k][i]);
  });
}

function decodeClaims(token: string): {
  exp?: number;
  resource_access?: Record<string, { roles?: string[] }>;
} {
  try {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
  } catch {
    return {};
  }
}

/** Maps `items` with at most `limit` calls in flight, keeping order; the first failure rejects. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
