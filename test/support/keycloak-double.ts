import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/*
 * A strict contract double of the Keycloak admin REST endpoints the Keycloak connector uses, as Keycloak 24-26
 * answers them. No Keycloak can run on these machines (it is packaged neither for Debian nor for npm), so the
 * connector is tested against this real HTTP server, driven through the vendor's own `@keycloak/keycloak-admin-client`.
 *
 * Sources (keycloak/keycloak, services/src/main/java/org/keycloak/services/resources/admin/):
 * - GroupsResource.java (26.x): `GET /groups` takes search, q, exact (default false), first, max,
 *   briefRepresentation (default TRUE), populateHierarchy (default true), subGroupsCount (default true); without
 *   search/q it lists top-level groups only, `subGroups` left empty; without first/max it returns them all.
 *   `POST /groups` answers 400 "Group name is missing" for a blank name, 409 "Top level group named 'x' already
 *   exists." for a duplicate, else 201 with `Location: <request URI>/<id>` and no body.
 * - GroupResource.java (26.x): `GET /groups/{id}` is the full representation (attributes) with subGroupCount;
 *   `PUT` requires a name (400 "Group name is missing"), 409 "Sibling group named 'x' already exists." on a rename
 *   onto a sibling, replaces the attributes when the body carries `attributes` (absent keys removed), sets the
 *   description, 204; `DELETE` removes the subtree, 204; `GET children` pages with first (default 0) and max
 *   (DEFAULT 10) and briefRepresentation default FALSE; `POST children` answers 409 "Sibling group named 'x' already
 *   exists." (since 21.1; before it silently created a second one), else 201 with Location
 *   `/admin/realms/{realm}/groups/{id}` and the group as body; `GET members` pages with first (default 0), max
 *   (default 100, Constants.DEFAULT_MAX_RESULTS), briefRepresentation default false, users ordered by username.
 * - RealmAdminResource.java: `GET /group-by-path/{path}` finds the group by its full path (leading "/" optional),
 *   404 when there is none.
 * - UsersResource.java: `GET /users?username=x` is a case-insensitive SUBSTRING match unless `exact=true`; max
 *   defaults to 100; usernames are stored lower-cased. `POST /users` 409 "User exists with same username".
 * - UserResource.java: `PUT|DELETE /users/{id}/groups/{groupId}` answer 204 (joining twice or leaving a group one is
 *   not in changes nothing); 404 for an unknown user or group.
 * - Token endpoint (client_credentials, client_secret_basic or _post): 401 `unauthorized_client` for a bad client;
 *   no refresh token for this grant; the admin API answers 401 for an expired or unknown token and 403 when the
 *   service account lacks the realm-management role.
 */

/** A service-account client the double accepts. Roles are realm-management client roles. */
export interface DoubleClient {
  clientId: string;
  secret: string;
  roles: string[];
}

interface Group {
  id: string;
  name: string;
  parentId: string | undefined;
  description: string | undefined;
  attributes: Record<string, string[]>;
  children: string[];
}

interface User {
  id: string;
  username: string;
  enabled: boolean;
  createdTimestamp: number;
  groups: Set<string>;
}

/** Counters for assertions: how many requests, and how many of them were writes, per route. */
export interface DoubleStats {
  requests: number;
  writes: number;
  tokens: number;
  byRoute: Record<string, number>;
}

interface Fault {
  kind: "status" | "delay" | "drop";
  status?: number;
  ms?: number;
}

const ALL_ROLES = ["manage-users", "view-users", "query-groups", "query-users"];

/** Thrown inside a handler to answer with a status and a Keycloak-shaped body. */
class Answer extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(String(status));
    this.status = status;
    this.body = body;
  }
}
// ErrorResponse.error/exists → ErrorRepresentation {"errorMessage": ...}; JAX-RS exceptions → {"error": ...}.
const errorMessage = (status: number, message: string) => new Answer(status, { errorMessage: message });
const jaxrs = (status: number, message: string) => new Answer(status, { error: message });

/**
 * A running Keycloak double on a loopback port, with its data inspectable and faults injectable from the test
 * (never over HTTP, so the HTTP surface stays Keycloak's).
 */
export class KeycloakDouble {
  readonly realm: string;
  readonly clients: DoubleClient[];
  /** Seconds an access token lives (Keycloak's default is 300). */
  tokenTtlSeconds: number;
  readonly stats: DoubleStats = { requests: 0, writes: 0, tokens: 0, byRoute: {} };
  #server: Server | undefined;
  #port = 0;
  #sockets = new Set<Socket>();
  #groups = new Map<string, Group>();
  #topLevel: string[] = [];
  #users = new Map<string, User>();
  #signingKey = randomBytes(32);
  #tokenGeneration = 0;
  #faults: Fault[] = [];
  #races = new Map<string, number>();
  /** "key\u0000value" → ids of the groups carrying it, for `q` (Keycloak answers it with an indexed query). */
  #attributeIndex = new Map<string, Set<string>>();
  /** group id → ids of its direct members. */
  #members = new Map<string, Set<string>>();

  constructor(opts: { realm?: string; clients?: DoubleClient[]; tokenTtlSeconds?: number; port?: number } = {}) {
    this.realm = opts.realm ?? "gatehouse";
    this.#port = opts.port ?? 0;
    this.clients = opts.clients ?? [{ clientId: "gatehouse-sync", secret: "s3cret", roles: ALL_ROLES }];
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 300;
  }

  /** Base URL as the admin client wants it (no trailing slash). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Starts listening (on the same port again after `down()`). */
  async start(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops accepting connections and cuts the open ones: the target is down (connection refused). */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /** Starts again on the same port with the same data. */
  async up(): Promise<void> {
    if (!this.#server) await this.start();
  }

  async close(): Promise<void> {
    await this.down();
  }

  // ---- fault injection (queued; each request consumes the first queued fault) ----

  /** The next `n` requests (token requests included) answer `status` (default 503). */
  failNext(n: number, status = 503): void {
    for (let i = 0; i < n; i++) this.#faults.push({ kind: "status", status });
  }

  /** The next `n` requests are answered only after `ms` milliseconds (a slow or hung target). */
  delayNext(n: number, ms: number): void {
    for (let i = 0; i < n; i++) this.#faults.push({ kind: "delay", ms });
  }

  /** The next `n` requests get their connection destroyed without an answer. */
  dropNext(n: number): void {
    for (let i = 0; i < n; i++) this.#faults.push({ kind: "drop" });
  }

  /**
   * Another writer creates a group named `name` (at whatever parent the next create of that name targets) just
   * before that create is processed: the create then meets Keycloak's 409, as in a race between lookup and create.
   * The other writer's group carries `attributes`.
   */
  raceOnCreate(name: string): void {
    this.#races.set(name, (this.#races.get(name) ?? 0) + 1);
  }

  /** Every access token issued so far becomes invalid (as after a key rotation or session expiry): 401 on use. */
  expireTokens(): void {
    this.#tokenGeneration++;
  }

  resetStats(): void {
    Object.assign(this.stats, { requests: 0, writes: 0, tokens: 0, byRoute: {} });
  }

  // ---- direct data access for tests (not HTTP) ----

  /** Adds a user (the double's users are what Keycloak would hold from its own sources). */
  addUser(username: string): string {
    const user: User = {
      id: randomUUID(),
      username: username.toLowerCase(),
      enabled: true,
      createdTimestamp: Date.now(),
      groups: new Set(),
    };
    this.#users.set(user.id, user);
    return user.id;
  }

  /** Deletes a user directly (as an administrator would in Keycloak); the username may then be created anew. */
  removeUserDirectly(username: string): void {
    for (const [id, u] of this.#users) {
      if (u.username !== username.toLowerCase()) continue;
      for (const groupId of [...u.groups]) this.#join(u, groupId, false);
      this.#users.delete(id);
    }
  }

  /** The group at a path (names from the root), or undefined. */
  groupAt(path: string[]): { id: string; attributes: Record<string, string[]>; members: string[] } | undefined {
    const group = this.#byPath(path);
    if (!group) return undefined;
    return { id: group.id, attributes: structuredClone(group.attributes), members: this.#memberNames(group.id) };
  }

  /** Creates a group directly (as a hand-made change on the target would). */
  createGroupDirectly(path: string[], attributes: Record<string, string[]> = {}): string {
    const parent = path.length > 1 ? this.#byPath(path.slice(0, -1)) : undefined;
    if (path.length > 1 && !parent) throw new Error(`no parent for ${path.join("/")}`);
    return this.#insertGroup(path[path.length - 1], parent?.id, attributes).id;
  }

  /** Adds a user to a group directly. */
  joinDirectly(username: string, path: string[]): void {
    const user = [...this.#users.values()].find((u) => u.username === username.toLowerCase());
    const group = this.#byPath(path);
    if (!user || !group) throw new Error("no such user or group");
    this.#join(user, group.id, true);
  }

  /** Every group by full path (`/a/b`), with its direct members' usernames sorted: the whole realm, to compare. */
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const group of this.#groups.values()) out[this.#path(group)] = this.#memberNames(group.id);
    return out;
  }

  get groupCount(): number {
    return this.#groups.size;
  }

  // ---- HTTP ----

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const fault = this.#faults.shift();
    if (fault?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await new Promise((resolve) => setTimeout(resolve, fault.ms));
    const body = await readBody(req);
    if (res.destroyed) return;
    if (fault?.kind === "status") {
      send(res, fault.status ?? 503, { error: "Service Unavailable" });
      return;
    }
    try {
      const out = this.#route(req, body);
      send(res, out.status, out.body, out.location);
    } catch (err) {
      if (err instanceof Answer) send(res, err.status, err.body);
      else send(res, 500, { error: "unknown_error" });
    }
  }

  #route(req: IncomingMessage, body: string): { status: number; body?: unknown; location?: string } {
    const url = new URL(req.url ?? "/", this.baseUrl);
    // JAX-RS ignores a trailing slash (the vendor client sends `/groups/` for a create).
    const raw = url.pathname.replace(/\/+$/, "").split("/").slice(1);
    const seg = raw.map((s) => decodeURIComponent(s));
    const method = req.method ?? "GET";
    const q = url.searchParams;

    if (method === "POST" && seg[0] === "realms" && seg[2] === "protocol" && seg[4] === "token" && seg.length === 5) {
      this.#count("token");
      return this.#token(seg[1], req, body);
    }
    if (seg[0] !== "admin" || seg[1] !== "realms") throw jaxrs(404, "HTTP 404 Not Found");
    const roles = this.#authenticate(req);
    if (seg[2] !== this.realm) throw jaxrs(404, "Realm not found.");
    const rest = seg.slice(3);
    const write = method !== "GET";
    const need = (...anyOf: string[]) => {
      if (!anyOf.some((r) => roles.includes(r))) throw jaxrs(403, "HTTP 403 Forbidden");
    };
    const route = (name: string) => {
      this.#count(`${method} ${name}`);
      if (write) this.stats.writes++;
    };

    if (rest[0] === "group-by-path" && method === "GET") {
      route("group-by-path");
      need("view-users", "manage-users");
      // {path: .*}: the rest of the URL, percent-decoded (the client encodes "/" as %2F).
      const path = decodeURIComponent(raw.slice(4).join("/"));
      const group = this.#byPath(path.replace(/^\//, "").split("/"));
      if (!group) throw jaxrs(404, "Group path does not exist");
      return { status: 200, body: this.#rep(group, true) };
    }

    if (rest[0] === "groups" && rest.length === 1) {
      route("groups");
      if (method === "GET") {
        need("query-groups", "view-users", "manage-users");
        return { status: 200, body: this.#listGroups(q) };
      }
      if (method === "POST") {
        need("manage-users");
        const rep = parseJson(body);
        const name = typeof rep.name === "string" ? rep.name : "";
        if (name.trim() === "") throw errorMessage(400, "Group name is missing");
        if (typeof rep.id === "string") {
          // An id makes the create a move to the top level (realm.moveGroup(child, null)); 204.
          this.#move(rep.id, undefined);
          return { status: 204 };
        }
        this.#race(name, undefined);
        if (this.#topLevel.some((id) => this.#groups.get(id)?.name === name)) {
          throw errorMessage(409, `Top level group named '${name}' already exists.`);
        }
        const group = this.#insertGroup(name, undefined, attributesOf(rep), descriptionOf(rep));
        // Location is the request URI plus the id (getAbsolutePathBuilder().path(id)).
        return { status: 201, location: `${this.baseUrl}${url.pathname.replace(/\/+$/, "")}/${group.id}` };
      }
    }

    if (rest[0] === "groups" && rest.length >= 2) {
      const group = this.#groups.get(rest[1]);
      if (!group) {
        route("groups/{id}");
        throw jaxrs(404, "Could not find group by id");
      }
      if (rest.length === 2) {
        route("groups/{id}");
        if (method === "GET") {
          need("view-users", "manage-users");
          return { status: 200, body: this.#rep(group, true) };
        }
        if (method === "PUT") {
          need("manage-users");
          const rep = parseJson(body);
          const name = typeof rep.name === "string" ? rep.name : "";
          if (name.trim() === "") throw errorMessage(400, "Group name is missing");
          if (rep.id !== undefined && rep.id !== group.id) throw errorMessage(400, "Invalid group id");
          if (name !== group.name && this.#siblings(group.parentId).some((g) => g.id !== group.id && g.name === name)) {
            throw errorMessage(409, `Sibling group named '${name}' already exists.`);
          }
          this.#rename(group, name);
          const attributes = attributesOf(rep);
          if (attributes) {
            this.#index(group, false);
            group.attributes = attributes;
            this.#index(group, true);
          }
          group.description = descriptionOf(rep);
          return { status: 204 };
        }
        if (method === "DELETE") {
          need("manage-users");
          this.#removeGroup(group);
          return { status: 204 };
        }
      }
      if (rest[2] === "children" && rest.length === 3) {
        route("groups/{id}/children");
        if (method === "GET") {
          need("view-users", "manage-users");
          const first = intParam(q, "first") ?? 0;
          const max = intParam(q, "max") ?? 10;
          const full = q.get("briefRepresentation") !== "true";
          const children = this.#sorted(group.children).slice(first, first + max);
          return { status: 200, body: children.map((g) => this.#rep(g, full)) };
        }
        if (method === "POST") {
          need("manage-users");
          const rep = parseJson(body);
          const name = typeof rep.name === "string" ? rep.name : "";
          if (name.trim() === "") throw errorMessage(400, "Group name is missing");
          if (typeof rep.id === "string") {
            // An id makes it a move under this group (realm.moveGroup(child, group)); 204 with the child as body.
            const moved = this.#move(rep.id, group.id);
            return { status: 204, body: this.#rep(moved, true) };
          }
          this.#race(name, group.id);
          if (this.#siblings(group.id).some((g) => g.name === name)) {
            throw errorMessage(409, `Sibling group named '${name}' already exists.`);
          }
          const child = this.#insertGroup(name, group.id, attributesOf(rep), descriptionOf(rep));
          return {
            status: 201,
            body: this.#rep(child, true),
            location: `${this.baseUrl}/admin/realms/${encodeURIComponent(this.realm)}/groups/${child.id}`,
          };
        }
      }
      if (rest[2] === "members" && rest.length === 3 && method === "GET") {
        route("groups/{id}/members");
        need("view-users", "manage-users");
        const first = intParam(q, "first") ?? 0;
        const max = intParam(q, "max") ?? 100;
        const members = this.#membersOf(group.id)
          .sort((a, b) => a.username.localeCompare(b.username))
          .slice(first, first + max);
        return { status: 200, body: members.map(userRep) };
      }
    }

    if (rest[0] === "users" && rest.length === 1) {
      route("users");
      if (method === "GET") {
        need("query-users", "view-users", "manage-users");
        return { status: 200, body: this.#findUsers(q).map(userRep) };
      }
      if (method === "POST") {
        need("manage-users");
        const rep = parseJson(body);
        const username = typeof rep.username === "string" ? rep.username.toLowerCase() : "";
        if (username === "") throw errorMessage(400, "User name is missing");
        if ([...this.#users.values()].some((u) => u.username === username)) {
          throw errorMessage(409, "User exists with same username");
        }
        const id = this.addUser(username);
        const user = this.#users.get(id)!;
        user.enabled = rep.enabled === true;
        return { status: 201, location: `${this.baseUrl}${url.pathname.replace(/\/+$/, "")}/${id}` };
      }
    }

    if (rest[0] === "users" && rest[2] === "groups" && rest.length === 4 && (method === "PUT" || method === "DELETE")) {
      route("users/{id}/groups/{groupId}");
      need("manage-users");
      const user = this.#users.get(rest[1]);
      if (!user) throw jaxrs(404, "User not found");
      const group = this.#groups.get(rest[3]);
      if (!group) throw jaxrs(404, "Group not found");
      this.#join(user, group.id, method === "PUT");
      return { status: 204 };
    }

    this.#count(`${method} unknown`);
    throw jaxrs(404, "HTTP 404 Not Found");
  }

  #count(route: string): void {
    this.stats.byRoute[route] = (this.stats.byRoute[route] ?? 0) + 1;
  }

  #token(realm: string, req: IncomingMessage, body: string): { status: number; body: unknown } {
    if (realm !== this.realm) throw jaxrs(404, "Realm does not exist");
    this.stats.tokens++;
    const form = new URLSearchParams(body);
    let clientId = form.get("client_id") ?? "";
    let secret = form.get("client_secret") ?? "";
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
    if (basic) {
      const decoded = Buffer.from(basic[1], "base64").toString();
      const colon = decoded.indexOf(":");
      clientId = decodeURIComponent(decoded.slice(0, colon).replaceAll("+", " "));
      secret = decodeURIComponent(decoded.slice(colon + 1).replaceAll("+", " "));
    }
    if (form.get("grant_type") !== "client_credentials") {
      throw new Answer(400, { error: "unsupported_grant_type", error_description: "Unsupported grant_type" });
    }
    const client = this.clients.find((c) => c.clientId === clientId && c.secret === secret);
    if (!client) {
      throw new Answer(401, {
        error: "unauthorized_client",
        error_description: "Invalid client or Invalid client credentials",
      });
    }
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      exp: now + this.tokenTtlSeconds,
      iat: now,
      jti: randomUUID(),
      iss: `${this.baseUrl}/realms/${this.realm}`,
      typ: "Bearer",
      azp: client.clientId,
      gen: this.#tokenGeneration,
      resource_access: { "realm-management": { roles: client.roles } },
    };
    const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const claims = b64url(JSON.stringify(payload));
    const signature = createHmac("sha256", this.#signingKey).update(`${header}.${claims}`).digest("base64url");
    return {
      status: 200,
      body: {
        access_token: `${header}.${claims}.${signature}`,
        expires_in: this.tokenTtlSeconds,
        refresh_expires_in: 0,
        token_type: "Bearer",
        "not-before-policy": 0,
        scope: "profile email",
      },
    };
  }

  /** The roles of a valid bearer token, or a 401 as Keycloak answers an absent, forged or expired token. */
  #authenticate(req: IncomingMessage): string[] {
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "");
    const unauthorized = jaxrs(401, "HTTP 401 Unauthorized");
    if (!bearer) throw unauthorized;
    const [header, claims, signature] = bearer[1].split(".");
    if (!header || !claims || !signature) throw unauthorized;
    const expected = createHmac("sha256", this.#signingKey).update(`${header}.${claims}`).digest("base64url");
    if (expected !== signature) throw unauthorized;
    const payload = JSON.parse(Buffer.from(claims, "base64url").toString()) as {
      exp: number;
      gen: number;
      resource_access: Record<string, { roles: string[] }>;
    };
    if (payload.exp <= Math.floor(Date.now() / 1000) || payload.gen !== this.#tokenGeneration) throw unauthorized;
    return payload.resource_access["realm-management"]?.roles ?? [];
  }

  #listGroups(q: URLSearchParams): unknown[] {
    const first = intParam(q, "first");
    const max = intParam(q, "max");
    const full = q.get("briefRepresentation") === "false";
    const page = <T>(items: T[]) =>
      first === undefined && max === undefined ? items : items.slice(first ?? 0, (first ?? 0) + (max ?? items.length));
    const search = q.get("search");
    const attrQuery = q.get("q");
    if (attrQuery === null && search === null) {
      return page(this.#sorted(this.#topLevel)).map((g) => ({ ...this.#rep(g, full), subGroups: [] }));
    }
    let matches: Group[];
    if (attrQuery !== null) {
      // SearchQueryUtils.getFields: "key:value key2:value2", exact values.
      const wanted = attrQuery
        .trim()
        .split(/\s+/)
        .map((pair) => [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)]);
      const [k0, v0] = wanted[0];
      matches = [...(this.#attributeIndex.get(`${k0}\u0000${v0}`) ?? [])]
        .map((id) => this.#groups.get(id)!)
        .filter((g) => wanted.every(([k, v]) => g.attributes[k]?.includes(v)));
    } else {
      const term = (search ?? "").trim().toLowerCase();
      const exact = q.get("exact") === "true";
      matches = [...this.#groups.values()].filter((g) =>
        exact ? g.name === (search ?? "").trim() : g.name.toLowerCase().includes(term),
      );
    }
    matches = page(matches.sort((a, b) => a.name.localeCompare(b.name)));
    // populateHierarchy: each match is returned inside its ancestors, from the top-level group down.
    const roots = new Map<string, Record<string, unknown>>();
    const nodes = new Map<string, Record<string, unknown>>();
    for (const match of matches) {
      const chain: Group[] = [];
      for (let g: Group | undefined = match; g; g = g.parentId ? this.#groups.get(g.parentId) : undefined) {
        chain.unshift(g);
      }
      let parentNode: Record<string, unknown> | undefined;
      for (const g of chain) {
        let node = nodes.get(g.id);
        if (!node) {
          node = { ...this.#rep(g, full), subGroups: [] };
          nodes.set(g.id, node);
          if (parentNode) (parentNode.subGroups as unknown[]).push(node);
          else roots.set(g.id, node);
        }
        parentNode = node;
      }
    }
    return [...roots.values()];
  }

  #findUsers(q: URLSearchParams): User[] {
    const first = intParam(q, "first") ?? 0;
    const max = intParam(q, "max") ?? 100;
    const username = q.get("username");
    const search = q.get("search");
    const exact = q.get("exact") === "true";
    let users = [...this.#users.values()];
    if (username !== null) {
      const wanted = username.toLowerCase();
      users = users.filter((u) => (exact ? u.username === wanted : u.username.includes(wanted)));
    } else if (search !== null) {
      const wanted = search.toLowerCase().replaceAll("*", "");
      users = users.filter((u) => u.username.includes(wanted));
    }
    return users.sort((a, b) => a.username.localeCompare(b.username)).slice(first, first + max);
  }

  #race(name: string, parentId: string | undefined): void {
    const pending = this.#races.get(name);
    if (!pending) return;
    if (pending === 1) this.#races.delete(name);
    else this.#races.set(name, pending - 1);
    if (!this.#siblings(parentId).some((g) => g.name === name)) this.#insertGroup(name, parentId, {});
  }

  #insertGroup(
    name: string,
    parentId: string | undefined,
    attributes: Record<string, string[]> | undefined,
    description?: string,
  ): Group {
    const group: Group = { id: randomUUID(), name, parentId, description, attributes: attributes ?? {}, children: [] };
    this.#groups.set(group.id, group);
    this.#index(group, true);
    if (parentId) this.#groups.get(parentId)!.children.push(group.id);
    else this.#topLevel.push(group.id);
    return group;
  }

  /** realm.moveGroup: 404 "Could not find child by id"; a sibling of the same name at the destination is a 409. */
  #move(id: string, parentId: string | undefined): Group {
    const child = this.#groups.get(id);
    if (!child) throw jaxrs(404, "Could not find child by id");
    if (child.parentId === parentId) return child;
    if (this.#siblings(parentId).some((g) => g.name === child.name)) {
      throw errorMessage(
        409,
        parentId
          ? `Sibling group named '${child.name}' already exists.`
          : `Top level group named '${child.name}' already exists.`,
      );
    }
    if (child.parentId) {
      const old = this.#groups.get(child.parentId)!;
      old.children = old.children.filter((c) => c !== id);
    } else {
      this.#topLevel = this.#topLevel.filter((c) => c !== id);
    }
    child.parentId = parentId;
    if (parentId) this.#groups.get(parentId)!.children.push(id);
    else this.#topLevel.push(id);
    return child;
  }

  #index(group: Group, add: boolean): void {
    for (const [k, values] of Object.entries(group.attributes)) {
      for (const v of values) {
        const key = `${k}\u0000${v}`;
        const ids = this.#attributeIndex.get(key) ?? new Set<string>();
        this.#attributeIndex.set(key, ids);
        if (add) ids.add(group.id);
        else ids.delete(group.id);
      }
    }
  }

  #rename(group: Group, name: string): void {
    group.name = name;
  }

  #removeGroup(group: Group): void {
    for (const childId of [...group.children]) this.#removeGroup(this.#groups.get(childId)!);
    this.#groups.delete(group.id);
    this.#index(group, false);
    if (group.parentId) {
      const parent = this.#groups.get(group.parentId)!;
      parent.children = parent.children.filter((id) => id !== group.id);
    } else {
      this.#topLevel = this.#topLevel.filter((id) => id !== group.id);
    }
    for (const user of this.#membersOf(group.id)) user.groups.delete(group.id);
    this.#members.delete(group.id);
  }

  #siblings(parentId: string | undefined): Group[] {
    const ids = parentId ? (this.#groups.get(parentId)?.children ?? []) : this.#topLevel;
    return ids.map((id) => this.#groups.get(id)!);
  }

  /** Keycloak orders group lists by name. */
  #sorted(ids: string[]): Group[] {
    return ids.map((id) => this.#groups.get(id)!).sort((a, b) => a.name.localeCompare(b.name));
  }

  #byPath(path: string[]): Group | undefined {
    let group: Group | undefined;
    for (const name of path) {
      group = this.#siblings(group?.id).find((g) => g.name === name);
      if (!group) return undefined;
    }
    return group;
  }

  #path(group: Group): string {
    const names: string[] = [];
    for (let g: Group | undefined = group; g; g = g.parentId ? this.#groups.get(g.parentId) : undefined) {
      names.unshift(g.name);
    }
    return `/${names.join("/")}`;
  }

  #memberNames(groupId: string): string[] {
    return this.#membersOf(groupId)
      .map((u) => u.username)
      .sort();
  }

  /** Direct members, from the group → user ids index (Keycloak's user_group_membership is indexed by group too). */
  #membersOf(groupId: string): User[] {
    return [...(this.#members.get(groupId) ?? [])].map((id) => this.#users.get(id)!).filter(Boolean);
  }

  #join(user: User, groupId: string, join: boolean): void {
    const ids = this.#members.get(groupId) ?? new Set<string>();
    this.#members.set(groupId, ids);
    if (join) {
      user.groups.add(groupId);
      ids.add(user.id);
    } else {
      user.groups.delete(groupId);
      ids.delete(user.id);
    }
  }

  /** GroupRepresentation; the brief one has no attributes. */
  #rep(group: Group, full: boolean): Record<string, unknown> {
    const rep: Record<string, unknown> = {
      id: group.id,
      name: group.name,
      path: this.#path(group),
      subGroupCount: group.children.length,
      subGroups: [],
    };
    if (group.parentId) rep.parentId = group.parentId;
    if (group.description !== undefined) rep.description = group.description;
    if (full) {
      rep.attributes = structuredClone(group.attributes);
      rep.realmRoles = [];
      rep.clientRoles = {};
    }
    rep.access = { view: true, viewMembers: true, manageMembers: true, manage: true, manageMembership: true };
    return rep;
  }
}

function userRep(user: User): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    enabled: user.enabled,
    emailVerified: false,
    createdTimestamp: user.createdTimestamp,
    totp: false,
    disableableCredentialTypes: [],
    requiredActions: [],
    notBefore: 0,
  };
}

/** Starts a double. */
export async function startKeycloakDouble(
  opts: ConstructorParameters<typeof KeycloakDouble>[0] = {},
): Promise<KeycloakDouble> {
  const double = new KeycloakDouble(opts);
  await double.start();
  return double;
}

function b64url(s: string): string {
  return Buffer.from(s).toString("base64url");
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw jaxrs(400, `HTTP 400 Bad Request: ${name}`);
  return n;
}

function parseJson(body: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw jaxrs(400, "HTTP 400 Bad Request");
}

function attributesOf(rep: Record<string, unknown>): Record<string, string[]> | undefined {
  const a = rep.attributes;
  if (a === undefined || a === null) return undefined;
  if (typeof a !== "object" || Array.isArray(a)) throw jaxrs(400, "HTTP 400 Bad Request");
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(a)) {
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw jaxrs(400, "HTTP 400 Bad Request");
    out[k] = v as string[];
  }
  return out;
}

function descriptionOf(rep: Record<string, unknown>): string | undefined {
  return typeof rep.description === "string" ? rep.description : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req) chunks.push(chunk as Buffer);
  } catch {
    return "";
  }
  return Buffer.concat(chunks).toString();
}

function send(res: ServerResponse, status: number, body: unknown, location?: string): void {
  if (res.destroyed) return;
  const headers: Record<string, string> = { "cache-control": "no-cache" };
  if (location) headers.location = location;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  headers["content-type"] = "application/json";
  res.writeHead(status, headers).end(JSON.stringify(body));
}
