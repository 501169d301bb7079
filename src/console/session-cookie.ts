import { parseCookie, stringifySetCookie } from "cookie";
import type { FastifyReply, FastifyRequest } from "fastify";
import { SESSION_COOKIE } from "./sessions.store.ts";

/** Longest cookie value read: a session secret is 47 characters; anything far longer is not one. */
const MAX_SECRET = 128;

/** The console session secret a request's `Cookie` header carries, or null. */
export function sessionSecretOf(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (typeof header !== "string" || !header.includes(SESSION_COOKIE)) return null;
  const value = parseCookie(header)[SESSION_COOKIE];
  return value && value.length <= MAX_SECRET ? value : null;
}

/** Whether the browser reached us over TLS (directly, or through a trusted proxy's `X-Forwarded-Proto`). */
function overTls(request: FastifyRequest): boolean {
  return request.protocol === "https";
}

/**
 * Sets the session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), Path=/ (every API route accepts it), Secure over TLS, and Max-Age the session's lifetime.
 */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, secret: string, maxAge: number): void {
  reply.header(
    "set-cookie",
    stringifySetCookie({
      name: SESSION_COOKIE,
      value: secret,
      httpOnly: true,
      sameSite: "strict",
      path: "/",
      secure: overTls(request),
      maxAge,
    }),
  );
}

/** Removes the session cookie from the browser. */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header(
    "set-cookie",
    stringifySetCookie({
      name: SESSION_COOKIE,
      value: "",
      httpOnly: true,
      sameSite: "strict",
      path: "/",
      secure: overTls(request),
      maxAge: 0,
    }),
  );
}

/** Cookie binding an OIDC sign-in to the browser that started it (login CSRF). */
export const OIDC_STATE_COOKIE = "gatehouse_oidc_state";
const OIDC_COOKIE_PATH = "/v1/console/oidc/";

/**
 * Sets the OIDC state cookie. SameSite=Lax, not Strict: it must come back on the issuer's
 * top-level redirect to the callback, which a browser treats as a cross-site navigation.
 */
export function setOidcStateCookie(request: FastifyRequest, reply: FastifyReply, state: string, maxAge: number): void {
  reply.header(
    "set-cookie",
    stringifySetCookie({
      name: OIDC_STATE_COOKIE,
      value: state,
      httpOnly: true,
      sameSite: "lax",
      path: OIDC_COOKIE_PATH,
      secure: overTls(request),
      maxAge,
    }),
  );
}

/** The OIDC state cookie's value, or null. */
export function oidcStateOf(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (typeof header !== "string") return null;
  return parseCookie(header)[OIDC_STATE_COOKIE] ?? null;
}

/** Removes the OIDC state cookie (the sign-in it bound is over). */
export function clearOidcStateCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header(
    "set-cookie",
    stringifySetCookie({
      name: OIDC_STATE_COOKIE,
      value: "",
      httpOnly: true,
      sameSite: "lax",
      path: OIDC_COOKIE_PATH,
      secure: overTls(request),
      maxAge: 0,
    }),
  );
}
