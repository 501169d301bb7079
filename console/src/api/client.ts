/**
 * The console's one door to the server: every request goes through `api()`, so timeouts, the
 * CSRF header, the session cookie and the native error shape are handled in one place. The console
 * uses the public API only; the key typed at sign-in is sent once to the session route and never kept.
 */

/** How long any request may take before the page shows a timeout error with a Retry. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** One failed field, as the native error shape names it (`body.policyItems[0].accesses[0].type`). */
export interface FieldDetail {
  field: string;
  rule?: string;
  message: string;
}

/** An API error with the server's code, message and the fields it names; or a network/timeout failure. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details: FieldDetail[] = [],
    readonly requestId?: string,
  ) {
    super(message);
  }

  /** The message the server gave for `field` (exact, or a field below it), if any. */
  fieldMessage(field: string): string | undefined {
    return this.details.find(
      (d) => d.field === field || d.field.startsWith(`${field}.`) || d.field.startsWith(`${field}[`),
    )?.message;
  }
}

/** The identity behind the session: the `GET /v1/whoami` body. */
export interface WhoAmI {
  actor: { type: string; id: string | null; name: string; authMethod: string; orgId: string | null };
  roles: string[];
  permissions: string[];
}

/** The session route's body. */
export interface Session {
  whoami: WhoAmI;
  csrfToken: string;
  expiresAt: string;
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** Called when any request answers 401 (the session expired or was ended elsewhere). */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

type Query = Record<string, string | number | boolean | undefined | null>;

/** Builds `path?query`, leaving out empty values. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

/** Calls the API; resolves with the JSON body (undefined for 204) or throws an `ApiError`. */
export async function api<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (options.signal) signals.push(options.signal);
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(withQuery(path, options.query), {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") {
      throw new ApiError(`${method} ${path}: no answer within ${timeoutMs / 1000} s`, 0, "TIMEOUT");
    }
    throw new ApiError(`${method} ${path}: the server cannot be reached (${(err as Error).message})`, 0, "NETWORK");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body ?? {}) as {
      code?: string;
      error?: string;
      message?: string;
      details?: FieldDetail[];
      requestId?: string;
    };
    if (res.status === 401 && onUnauthorized && !path.startsWith("/v1/console/session")) onUnauthorized();
    throw new ApiError(
      e.message ?? `${method} ${path}: HTTP ${res.status} ${res.statusText}`,
      res.status,
      e.code ?? e.error ?? `HTTP_${res.status}`,
      Array.isArray(e.details) ? e.details : [],
      e.requestId,
    );
  }
  return body as T;
}

interface SessionBody {
  actor: WhoAmI | (WhoAmI["actor"] & { roles?: string[]; permissions?: string[] });
  csrfToken: string;
  expiresAt: string;
}

/** Accepts the whoami body as the session's `actor` (or an actor carrying roles and permissions). */
function toSession(body: SessionBody): Session {
  const a = body.actor as WhoAmI & { roles?: string[]; permissions?: string[]; name?: string };
  const whoami: WhoAmI =
    a && "actor" in a && a.actor
      ? { actor: a.actor, roles: a.roles ?? [], permissions: a.permissions ?? [] }
      : {
          actor: a as unknown as WhoAmI["actor"],
          roles: a.roles ?? [],
          permissions: a.permissions ?? [],
        };
  csrfToken = body.csrfToken;
  return { whoami, csrfToken: body.csrfToken, expiresAt: body.expiresAt };
}

/** Exchanges a key (general PSK or API key) for a session cookie. */
export async function signIn(key: string): Promise<Session> {
  return toSession(await api<SessionBody>("POST", "/v1/console/session", { body: { key } }));
}

/** The current session, or null when there is none. */
export async function currentSession(): Promise<Session | null> {
  try {
    return toSession(await api<SessionBody>("GET", "/v1/console/session"));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

/** Ends the session on the server. */
export async function signOut(): Promise<void> {
  await api<void>("DELETE", "/v1/console/session");
  csrfToken = null;
}

/** Whether OIDC sign-in is offered (`GET /v1/console/config`); false when the route says nothing. */
export async function consoleConfig(): Promise<{ oidc: boolean }> {
  try {
    const body = await api<{ oidc?: boolean | { enabled?: boolean }; oidcEnabled?: boolean }>(
      "GET",
      "/v1/console/config",
    );
    const oidc =
      typeof body?.oidc === "object" ? Boolean(body.oidc?.enabled) : Boolean(body?.oidc ?? body?.oidcEnabled);
    return { oidc };
  } catch {
    return { oidc: false };
  }
}

/** A server-paged list, as every list route answers. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
  /** Lists asked for `total=bounded` (users, groups, roles): true when more than `total` match. */
  totalIsLowerBound?: boolean;
}

/** A page's total as a count to show: "1,000+" when the server only counted that far. */
export function totalText(page: Pick<Page<unknown>, "total" | "totalIsLowerBound">): string {
  return `${page.total.toLocaleString("en")}${page.totalIsLowerBound ? "+" : ""}`;
}
