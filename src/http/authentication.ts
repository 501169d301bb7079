import type { FastifyInstance, FastifyRequest } from "fastify";
import { authorize } from "../auth/abilities.ts";
import { type Actor, ANONYMOUS } from "../auth/actor.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import { credentialIdentity } from "../auth/credential-identity.ts";
import type { FailureLimiter } from "../auth/failure-limiter.ts";
import { sessionSecretOf } from "../console/session-cookie.ts";
import { csrfMatches } from "../console/sessions.store.ts";
import { AppError, CsrfTokenInvalid, InvalidCredentials, TooManyAuthFailures, Unauthenticated } from "../errors.ts";
import { appendOnSend, isWriteRoute } from "./route-hooks.ts";

/** What `WWW-Authenticate` offers on a 401 from native routes. */
export const WWW_AUTHENTICATE =
  'Authorization-PSK realm="gatehouse", Bearer realm="gatehouse", Basic realm="gatehouse"';

/**
 * Reads a credential from a request and resolves it; returns null when the request carries none.
 * Native routes use `nativeCredentials`; compatibility routes bring their own header schemes.
 * A reader may answer synchronously (a cached or general credential) or with a promise.
 */
export type CredentialReader = (
  request: FastifyRequest,
  authenticator: Authenticator,
) => Actor | null | Promise<Actor | null>;

/** `Authorization-PSK`, `Authorization: Bearer` and `Authorization: Basic`. */
export const nativeCredentials: CredentialReader = (request, authenticator) => {
  const psk = request.headers["authorization-psk"];
  if (typeof psk === "string" && psk.length > 0) return authenticator.fromPsk(psk.trim());
  const authorization = request.headers.authorization;
  if (!authorization) return null;
  const space = authorization.indexOf(" ");
  const scheme = authorization.slice(0, space).toLowerCase();
  const value = authorization.slice(space + 1).trim();
  if (space < 0 || !value) throw InvalidCredentials("the authorization header must be `<scheme> <credentials>`");
  if (scheme === "bearer") return authenticator.fromBearer(value);
  if (scheme === "basic") return authenticator.fromBasic(value);
  throw InvalidCredentials(
    `authorization scheme \`${scheme}\` is not supported; use Bearer, Basic or Authorization-PSK`,
  );
};

/** Abilities whose writes can change who a credential is or what it may do (keys, users, roles). */
const CREDENTIAL_CHANGING = new Set<string>(["credentials.write", "directory.write", "authenticated"]);
const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** What a native route's 401 asks for; compatibility routes name their own (`config.credentialHint`). */
const NATIVE_HINT = "Authorization-PSK, a Bearer token or Basic credentials";

/**
 * Authenticates every request before its body is validated, then checks the route's declared
 * ability. Failures are counted per client address and per credential identity; an attempt is
 * refused with 429 before its credential is verified only when its address is locked out and the
 * identity it presents is under attack, and a wrong credential from a locked-out address gets 429
 * (the rule: `FailureLimiter`). The client address is `request.ip`: the socket's peer, or what a
 * trusted proxy forwarded (`GATEHOUSE_TRUSTED_PROXIES`).
 *
 * A request that presents no credential header may present the admin console's session cookie
 * (`gatehouse_session`, src/console/): it authenticates as the credential that opened the session,
 * and an unsafe method (anything but GET, HEAD, OPTIONS) must also send the session's CSRF token
 * in `X-CSRF-Token` (403 `CSRF_TOKEN_INVALID` otherwise). A request with a credential header is
 * judged by that header alone. An ended session's cookie is a 401 that the failure limiter does not
 * count: a browser holding a stale cookie is not guessing anything (session secrets are 256-bit).
 *
 * The hook is callback-style and completes synchronously when the credential resolves without
 * I/O (the general PSK, a recently verified key or token): no promise and no extra microtask on
 * the common request. After a successful local write that can change credentials (a hook on
 * those routes only), the authenticator forgets what it cached, so a revocation is effective on
 * the next request.
 */
export function installAuthentication(
  app: FastifyInstance,
  deps: { authenticator: Authenticator; limiter: FailureLimiter },
): void {
  const { authenticator, limiter } = deps;
  app.decorateRequest("actor", null as unknown as Actor);
  app.decorateRequest("consoleSession", null);
  app.addHook("onRequest", (request, _reply, done) => {
    request.actor = ANONYMOUS;
    request.consoleSession = null;
    const config = request.routeOptions.config;
    const ability = config.ability;
    if (!ability || ability === "public") return done();
    const challenge = config.challenge ?? WWW_AUTHENTICATE;
    const address = request.ip;
    const identity = credentialIdentity(request.headers);
    const lockedOut = limiter.retryAfter(address);
    if (lockedOut > 0 && identity !== null) {
      const refused = limiter.refusal(address, identity);
      if (refused > 0) return done(tooManyFailures(refused));
    }
    const admit = (actor: Actor | null): void => {
      if (!actor) {
        done(
          Unauthenticated(`authentication is required: send ${config.credentialHint ?? NATIVE_HINT}`, {
            headers: { "www-authenticate": challenge },
          }),
        );
        return;
      }
      request.actor = actor;
      try {
        authorize(actor, ability);
      } catch (err) {
        // A route may admit some callers without its ability (zone administrators on policy
        // routes); its handler then enforces the narrower rule.
        const delegated = config.delegatedAdmission;
        if (!delegated) {
          done(err as Error);
          return;
        }
        delegated(request).then(
          (admitted) => (admitted ? done() : done(err as Error)),
          (failure: unknown) => done(failure as Error),
        );
        return;
      }
      done();
    };
    const reject = (err: unknown): void => {
      if (err instanceof AppError && err.status === 401) {
        limiter.fail(address, identity ?? "none");
        // a locked-out address learns nothing more from a wrong guess than that it is locked out
        done(lockedOut > 0 ? tooManyFailures(limiter.retryAfter(address) || lockedOut) : withChallenge(err, challenge));
        return;
      }
      done(err as Error);
    };
    // The console session cookie, when no credential header was presented.
    const viaSession = (): void => {
      const secret = sessionSecretOf(request);
      if (secret === null) {
        admit(null);
        return;
      }
      const refuse = (err: unknown): void =>
        done(err instanceof AppError && err.status === 401 ? withChallenge(err, challenge) : (err as Error));
      const admitSession = (actor: Actor): void => {
        if (!READ_METHODS.has(request.method)) {
          const presented = request.headers["x-csrf-token"];
          if (!csrfMatches(secret, typeof presented === "string" ? presented : undefined)) {
            done(
              CsrfTokenInvalid(
                presented === undefined
                  ? `a ${request.method} authenticated by the console session cookie must send header \`X-CSRF-Token\` (the session's csrfToken)`
                  : "header `X-CSRF-Token` does not match the console session's csrf token",
              ),
            );
            return;
          }
        }
        request.consoleSession = { secret };
        admit(actor);
      };
      let session: Actor | Promise<Actor>;
      try {
        session = authenticator.fromSession(secret);
      } catch (err) {
        refuse(err);
        return;
      }
      if (session instanceof Promise) session.then(admitSession, refuse);
      else admitSession(session);
    };
    let read: Actor | null | Promise<Actor | null>;
    try {
      read = (config.credentials ?? nativeCredentials)(request, authenticator);
    } catch (err) {
      reject(err);
      return;
    }
    if (read instanceof Promise) read.then((actor) => (actor ? admit(actor) : viaSession()), reject);
    else if (read) admit(read);
    else viaSession();
  });
  // Writes that can change credentials make the authenticator forget what it cached, before the
  // response leaves: the caller's next request already sees the change.
  app.addHook("onRoute", (route) => {
    const ability = (route.config as { ability?: string } | undefined)?.ability;
    if (ability === undefined || !CREDENTIAL_CHANGING.has(ability) || !isWriteRoute(route)) return;
    appendOnSend(route, (request, reply, payload, done) => {
      if (!READ_METHODS.has(request.method) && reply.statusCode < 400) authenticator.forgetCredentials();
      done(null, payload);
    });
  });
}

/** The 429 of a locked-out client, with its `Retry-After`. */
export function tooManyFailures(retryAfter: number): AppError {
  return TooManyAuthFailures(`too many failed authentication attempts; retry in ${retryAfter} s`, {
    headers: { "retry-after": String(retryAfter) },
  });
}

function withChallenge(error: AppError, challenge: string): AppError {
  return new AppError(error.code, error.status, error.message, {
    details: error.details,
    headers: { ...error.headers, "www-authenticate": challenge },
    cause: error.cause,
  });
}
