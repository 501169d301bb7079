import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import type { Actor } from "../auth/actor.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import { credentialIdentity } from "../auth/credential-identity.ts";
import type { FailureLimiter } from "../auth/failure-limiter.ts";
import { hashSecret } from "../auth/secrets.ts";
import { NativeWhoAmI, presentWhoAmI } from "../auth/whoami.routes.ts";
import type { Config } from "../config/schema.ts";
import {
  AppError,
  fieldError,
  InvalidCredentials,
  OidcSignInFailed,
  OidcSignInUnavailable,
  Unauthenticated,
  ValidationFailed,
} from "../errors.ts";
import { tooManyFailures } from "../http/authentication.ts";
import type { Db } from "../storage/db.ts";
import type { OidcSignIn } from "./oidc-sign-in.ts";
import {
  clearOidcStateCookie,
  clearSessionCookie,
  oidcStateOf,
  setOidcStateCookie,
  setSessionCookie,
} from "./session-cookie.ts";
import {
  csrfTokenOf,
  findSession,
  insertSession,
  type OpenedSession,
  revokeSession,
  type SessionAuthMethod,
  savePendingLogin,
  takePendingLogin,
} from "./sessions.store.ts";

/** Path of the OIDC callback (the redirect URI registered for the console's client ends with it). */
export const OIDC_CALLBACK_PATH = "/v1/console/oidc/callback";
/** How long an OIDC sign-in may take between the redirect and the callback. */
const OIDC_LOGIN_SECONDS = 600;
const DEFAULT_RETURN_TO = "/console/";

const Session = Type.Object(
  {
    actor: NativeWhoAmI,
    csrfToken: Type.String({
      description: "Send it in `X-CSRF-Token` with every POST, PUT, PATCH and DELETE made with the session cookie",
    }),
    expiresAt: Type.String({ format: "date-time", description: "End of the session's lifetime" }),
  },
  { title: "ConsoleSession" },
);

const ConsoleConfig = Type.Object(
  {
    oidc: Type.Object({
      enabled: Type.Boolean({ description: "Whether OIDC sign-in is offered" }),
      loginPath: Type.Union([Type.String(), Type.Null()], {
        description: "Where the browser goes to sign in with OIDC (add `?returnTo=/console/...`); null when disabled",
      }),
    }),
    session: Type.Object({
      lifetimeSeconds: Type.Integer(),
      idleTimeoutSeconds: Type.Integer(),
    }),
  },
  { title: "ConsoleConfig" },
);

/** What the console routes are built from. */
export interface ConsoleRouteDeps {
  db: Db;
  config: Config;
  authenticator: Authenticator;
  limiter: FailureLimiter;
  /** Null when OIDC sign-in is not configured. */
  oidcSignIn: OidcSignIn | null;
}

/**
 * The console's sign-in API under `/v1/console/`: a key exchanged for a session cookie, the
 * session read and ended, OIDC sign-in (authorization code with PKCE), and what the sign-in page
 * needs to know. The session cookie then authenticates every API route (src/http/authentication.ts).
 */
export function consoleRoutes(deps: ConsoleRouteDeps): FastifyPluginAsyncTypebox {
  const { db, config, authenticator, limiter, oidcSignIn } = deps;
  const lifetime = config.consoleSessionTtlSeconds;

  /** Opens a session for `actor` in one transaction with its audit event, and sets the cookie. */
  const open = async (
    request: FastifyRequest,
    actor: Actor,
    credential: {
      authMethod: SessionAuthMethod;
      credentialId: string;
      apiKeyId?: string;
      tokenClaims?: Record<string, unknown>;
    },
  ): Promise<OpenedSession> => {
    const ctx: AuditContext = { actor, requestId: request.id, clientIp: request.ip };
    return db.transaction(async (tx) => {
      const session = await insertSession(tx, { ...credential, lifetimeSeconds: lifetime });
      await recordAudit(tx, ctx, {
        action: "console_session.created",
        targetType: "console_session",
        targetId: session.id,
        orgId: actor.orgId,
        after: {
          authMethod: credential.authMethod,
          credentialId: credential.credentialId,
          expiresAt: session.expiresAt.toISOString(),
        },
      });
      return session;
    });
  };

  return async (app) => {
    app.get(
      "/v1/console/config",
      {
        config: { ability: "public" },
        schema: {
          tags: ["console"],
          summary: "What the console's sign-in page offers",
          response: { 200: ConsoleConfig },
        },
      },
      async () => ({
        oidc: { enabled: oidcSignIn !== null, loginPath: oidcSignIn ? "/v1/console/oidc/login" : null },
        session: { lifetimeSeconds: lifetime, idleTimeoutSeconds: config.consoleSessionIdleSeconds },
      }),
    );

    app.post(
      "/v1/console/session",
      {
        config: { ability: "public" },
        schema: {
          tags: ["console"],
          summary: "Sign in to the console with a key",
          description:
            "Exchanges the general PSK or a user's API key for the `gatehouse_session` cookie (HttpOnly, SameSite=Strict, Secure over TLS). The key is not stored: the session remembers which credential opened it and ends when that credential is revoked. Failed attempts count towards the failed-authentication lockout.",
          body: Type.Object(
            { key: Type.String({ minLength: 1, maxLength: 512, description: "The general PSK or an API key" }) },
            { additionalProperties: false },
          ),
          response: { 200: Session },
        },
      },
      async (request, reply) => {
        const key = request.body.key.trim();
        const address = request.ip;
        const identity = credentialIdentity({ "authorization-psk": key }) ?? "psk";
        const lockedOut = limiter.retryAfter(address);
        if (lockedOut > 0) {
          const refused = limiter.refusal(address, identity);
          if (refused > 0) throw tooManyFailures(refused);
        }
        let actor: Actor;
        try {
          actor = await authenticator.fromPsk(key);
        } catch (err) {
          if (err instanceof AppError && err.status === 401) {
            limiter.fail(address, identity);
            if (lockedOut > 0) throw tooManyFailures(limiter.retryAfter(address) || lockedOut);
          }
          throw err;
        }
        let session: OpenedSession;
        if (actor.authMethod === "general_psk") {
          session = await open(request, actor, {
            authMethod: "general_psk",
            credentialId: authenticator.generalPskFingerprint,
          });
        } else {
          const prefix = key.split("_")[1] ?? "";
          const row = await db.kysely
            .selectFrom("api_keys")
            .where("prefix", "=", prefix)
            .select("id")
            .executeTakeFirst();
          if (!row) throw InvalidCredentials("the api key is not valid");
          session = await open(request, actor, { authMethod: "user_psk", credentialId: row.id, apiKeyId: row.id });
        }
        setSessionCookie(request, reply, session.secret, lifetime);
        return presentSession(actor, session.csrfToken, session.expiresAt);
      },
    );

    app.get(
      "/v1/console/session",
      {
        config: { ability: "authenticated" },
        schema: {
          tags: ["console"],
          summary: "The current console session",
          description: "Answers 401 unless the request carries a live `gatehouse_session` cookie.",
          response: { 200: Session },
        },
      },
      async (request) => {
        const current = request.consoleSession;
        const session = current ? await findSession(db.kysely, hashSecret(current.secret)) : undefined;
        if (!current || !session) {
          throw Unauthenticated("no console session: sign in with POST /v1/console/session");
        }
        return presentSession(request.actor, csrfTokenOf(current.secret), session.expiresAt);
      },
    );

    app.delete(
      "/v1/console/session",
      {
        config: { ability: "authenticated" },
        schema: {
          tags: ["console"],
          summary: "Sign out of the console",
          description:
            "Ends the session on the server (its cookie no longer authenticates anywhere) and clears the cookie. Needs `X-CSRF-Token` like every unsafe request made with the cookie.",
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const current = request.consoleSession;
        if (current) {
          await db.transaction(async (tx) => {
            const ended = await revokeSession(tx, hashSecret(current.secret));
            if (!ended) return;
            await recordAudit(
              tx,
              { actor: request.actor, requestId: request.id, clientIp: request.ip },
              {
                action: "console_session.revoked",
                targetType: "console_session",
                targetId: ended.id,
                orgId: request.actor.orgId,
                before: { authMethod: ended.authMethod, credentialId: ended.credentialId },
              },
            );
          });
          authenticator.forgetCredentials();
        }
        clearSessionCookie(request, reply);
        return reply.code(204).send(null);
      },
    );

    app.get(
      "/v1/console/oidc/login",
      {
        config: { ability: "public" },
        schema: {
          tags: ["console"],
          summary: "Start OIDC sign-in",
          description:
            "Redirects (302) to the issuer's authorization endpoint (authorization code with PKCE S256, state and nonce). `returnTo` is where the browser lands after signing in: a path on this server.",
          querystring: Type.Object({
            returnTo: Type.Optional(Type.String({ maxLength: 2048, description: "A path on this server" })),
          }),
        },
      },
      async (request, reply) => {
        if (!oidcSignIn) throw OidcSignInUnavailable();
        const returnTo = safeReturnTo(request.query.returnTo);
        const started = await oidcSignIn.start(redirectUriOf(request, config));
        await savePendingLogin(db.kysely, started.state, {
          codeVerifier: started.codeVerifier,
          nonce: started.nonce,
          returnTo,
          expiresAt: new Date(Date.now() + OIDC_LOGIN_SECONDS * 1000),
        });
        setOidcStateCookie(request, reply, started.state, OIDC_LOGIN_SECONDS);
        return reply.header("cache-control", "no-store").redirect(started.url.href, 302);
      },
    );

    app.get(
      OIDC_CALLBACK_PATH,
      {
        config: { ability: "public" },
        schema: {
          tags: ["console"],
          summary: "OIDC sign-in callback",
          description:
            "Where the issuer sends the browser back: exchanges the code, validates the ID token, maps the identity exactly as a bearer token of the same issuer, opens the session and redirects (302) to the `returnTo` of the sign-in.",
          querystring: Type.Object(
            {
              code: Type.Optional(Type.String({ maxLength: 4096 })),
              state: Type.Optional(Type.String({ maxLength: 512 })),
              iss: Type.Optional(Type.String({ maxLength: 2048 })),
              session_state: Type.Optional(Type.String({ maxLength: 2048 })),
              error: Type.Optional(Type.String({ maxLength: 256 })),
              error_description: Type.Optional(Type.String({ maxLength: 2048 })),
            },
            // Issuers add parameters of their own to the redirect (Google: `scope`, `authuser`, `hd`).
            { additionalProperties: true },
          ),
        },
      },
      async (request, reply) => {
        if (!oidcSignIn) throw OidcSignInUnavailable();
        clearOidcStateCookie(request, reply);
        const { state, error } = request.query;
        if (error) {
          const description = request.query.error_description;
          throw OidcSignInFailed(
            `oidc sign-in failed: the issuer answered \`${error}\`${description ? `: ${description}` : ""}`,
          );
        }
        if (!state) throw fieldError(ValidationFailed, "query.state", "required", "is required");
        // The state must be the one this browser started with (login CSRF), and is used once.
        if (oidcStateOf(request) !== state) {
          throw OidcSignInFailed(
            "oidc sign-in failed: this browser did not start this sign-in (state cookie missing or different)",
          );
        }
        const pending = await takePendingLogin(db.kysely, state);
        if (!pending || pending.expiresAt.getTime() <= Date.now()) {
          throw OidcSignInFailed("oidc sign-in failed: the sign-in expired or was already completed; start again");
        }
        const callbackUrl = new URL(redirectUriOf(request, config));
        callbackUrl.search = new URL(request.url, "http://callback").search;
        const result = await oidcSignIn.finish(callbackUrl, { state, ...pending });
        let claims: Awaited<ReturnType<Authenticator["verifyToken"]>>;
        try {
          claims = await authenticator.verifyToken(result.accessToken);
        } catch (err) {
          throw OidcSignInFailed(
            `oidc sign-in failed: the access token is not accepted as a bearer token: ${(err as Error).message}`,
            { cause: err },
          );
        }
        if (claims.sub !== result.subject) {
          throw OidcSignInFailed("oidc sign-in failed: the access token and the id token name different subjects");
        }
        const actor = await authenticator.actorOfToken(claims);
        const tokenClaims = { ...claims, expiresAt: null };
        const session = await open(request, actor, {
          authMethod: "keycloak_token",
          credentialId: claims.sub,
          tokenClaims,
        });
        setSessionCookie(request, reply, session.secret, lifetime);
        return reply.header("cache-control", "no-store").redirect(pending.returnTo, 302);
      },
    );
  };
}

function presentSession(actor: Actor, csrfToken: string, expiresAt: Date) {
  return { actor: presentWhoAmI(actor), csrfToken, expiresAt: expiresAt.toISOString() };
}

/**
 * `returnTo` when it is a path on this server, else a 400: an absolute URL, a scheme-relative
 * `//host` or a backslash (which browsers read as a slash) would make the sign-in an open redirect.
 */
export function safeReturnTo(value: string | undefined): string {
  if (value === undefined || value === "") return DEFAULT_RETURN_TO;
  const refuse = () =>
    fieldError(
      ValidationFailed,
      "query.returnTo",
      "sameOriginPath",
      "must be a path on this server starting with one `/`",
    );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (!value.startsWith("/") || value.startsWith("//") || /[\\\u0000-\u001f\u007f]/.test(value)) throw refuse();
  const base = "http://gatehouse.invalid";
  const parsed = new URL(value, base);
  if (parsed.origin !== base) throw refuse();
  return parsed.pathname + parsed.search + parsed.hash;
}

/** The configured redirect URI, else the callback on the scheme and host the browser used. */
function redirectUriOf(request: FastifyRequest, config: Config): string {
  return config.consoleOidcRedirectUri ?? `${request.protocol}://${request.host}${OIDC_CALLBACK_PATH}`;
}
