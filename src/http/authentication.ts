import type { FastifyInstance, FastifyRequest } from "fastify";
import { authorize } from "../auth/abilities.ts";
import { type Actor, ANONYMOUS } from "../auth/actor.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import type { FailureLimiter } from "../auth/failure-limiter.ts";
import { AppError, InvalidCredentials, TooManyAuthFailures, Unauthenticated } from "../errors.ts";

/** What `WWW-Authenticate` offers on a 401 from native routes. */
export const WWW_AUTHENTICATE =
  'Authorization-PSK realm="gatehouse", Bearer realm="gatehouse", Basic realm="gatehouse"';

/**
 * Reads a credential from a request and resolves it; returns null when the request carries none.
 * Native routes use `nativeCredentials`; compatibility routes bring their own header schemes.
 */
export type CredentialReader = (request: FastifyRequest, authenticator: Authenticator) => Promise<Actor | null>;

/** `Authorization-PSK`, `Authorization: Bearer` and `Authorization: Basic`. */
export const nativeCredentials: CredentialReader = async (request, authenticator) => {
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

/**
 * Authenticates every request before its body is validated, then checks the route's declared
 * ability. A client address with too many failures gets 429 before its credentials are even read.
 */
export function installAuthentication(
  app: FastifyInstance,
  deps: { authenticator: Authenticator; limiter: FailureLimiter },
): void {
  app.decorateRequest("actor", null as unknown as Actor);
  app.addHook("onRequest", async (request) => {
    request.actor = ANONYMOUS;
    const config = request.routeOptions.config;
    const ability = config.ability;
    if (!ability || ability === "public") return;
    const retryAfter = deps.limiter.retryAfter(request.ip);
    if (retryAfter > 0) {
      throw TooManyAuthFailures(`too many failed authentication attempts; retry in ${retryAfter} s`, {
        headers: { "retry-after": String(retryAfter) },
      });
    }
    const read = config.credentials ?? nativeCredentials;
    let actor: Actor | null;
    try {
      actor = await read(request, deps.authenticator);
    } catch (err) {
      if (err instanceof AppError && err.status === 401) {
        deps.limiter.fail(request.ip);
        throw withChallenge(err, config.challenge ?? WWW_AUTHENTICATE);
      }
      throw err;
    }
    if (!actor) {
      throw Unauthenticated("authentication is required: send Authorization-PSK, a Bearer token or Basic credentials", {
        headers: { "www-authenticate": config.challenge ?? WWW_AUTHENTICATE },
      });
    }
    request.actor = actor;
    authorize(actor, ability);
  });
}

function withChallenge(error: AppError, challenge: string): AppError {
  return new AppError(error.code, error.status, error.message, {
    details: error.details,
    headers: { ...error.headers, "www-authenticate": challenge },
    cause: error.cause,
  });
}
