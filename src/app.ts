import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from "fastify";
import { auditRoutes } from "./audit/audit.routes.ts";
import { ABILITIES, BUILTIN_ROLES, can } from "./auth/abilities.ts";
import { Authenticator } from "./auth/authenticator.ts";
import { credentialRoutes } from "./auth/credentials.routes.ts";
import { FailureLimiter } from "./auth/failure-limiter.ts";
import { KerberosAcceptor } from "./auth/kerberos.ts";
import { OidcVerifier } from "./auth/oidc.ts";
import { whoamiRoutes } from "./auth/whoami.routes.ts";
import { clientAddress, inNetworks, parseNetworks } from "./config/networks.ts";
import type { Config } from "./config/schema.ts";
import { consoleRoutes } from "./console/console.routes.ts";
import { OidcSignIn } from "./console/oidc-sign-in.ts";
import { consoleStaticRoutes, DEFAULT_CONSOLE_DIR } from "./console/static.routes.ts";
import { BATCH_BODY_LIMIT, type BatchInput, type BatchOutput, createDecider } from "./decisions/decisions.routes.ts";
import { BatchRequest, BatchResponse, Decision, DecisionRequest } from "./decisions/decisions.schemas.ts";
import { createDecisionLane, type DecisionLane } from "./decisions/fast-lane.ts";
import { installDecisions } from "./decisions/index.ts";
import { directoryRoutes } from "./directory/directory.routes.ts";
import { installAuthentication } from "./http/authentication.ts";
import { closedQuery } from "./http/closed-query.ts";
import { installErrorHandling, schemaErrorFormatter } from "./http/error-handler.ts";
import { identitySyncRoutes } from "./identity-sources/sync/sync.routes.ts";
import { rangerPublicRoutes } from "./ranger/admin/index.ts";
import { distributionRoutes } from "./ranger/plugin-download/distribution.routes.ts";
import { pluginGrantRoutes } from "./ranger/plugin-grants/grants.routes.ts";
import { pluginRoleRoutes } from "./ranger/roles/plugin-roles.routes.ts";
import "./http/fastify-types.ts";
import { frontierRoutes } from "./compat/frontier/index.ts";
import { nx1Routes } from "./compat/nx1/index.ts";
import { puppetRoutes } from "./compat/puppet/index.ts";
import { ariaRoutes } from "./compat/vmware-aria/index.ts";
import { installConnectors } from "./connectors/index.ts";
import { healthRoutes } from "./http/health.routes.ts";
import { installIdempotency } from "./http/idempotency.ts";
import { installInputGuard } from "./http/input-guard.ts";
import { installMetrics } from "./http/metrics.ts";
import { installOpenApi } from "./http/openapi.ts";
import { lazyChildLogger } from "./http/request-logger.ts";
import { ErrorBody } from "./http/schemas.ts";
import { policyRoutes } from "./policies/policies.routes.ts";
import { installRangerPdp, type Lane } from "./ranger/pdp/index.ts";
import { rangerUsersyncRoutes } from "./ranger/usersync/index.ts";
import { scimRoutes } from "./scim/index.ts";
import { serviceDefRoutes } from "./service-defs/service-defs.routes.ts";
import { installSimulatableRoutes } from "./simulations/simulate-write.ts";
import { simulationRoutes } from "./simulations/simulations.routes.ts";
import type { Db } from "./storage/db.ts";
import { tagRoutes } from "./tags/tags.routes.ts";
import { myZonesRoutes } from "./zones/my-zones.routes.ts";
import { zoneRoutes } from "./zones/zones.routes.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** Every route registered, with its declared ability (walked by the authorization test). */
    routeCatalogue: readonly RouteOptions[];
    /** What the decision fast lane did: answered, replayed through Fastify, left to Fastify. */
    decisionLane: DecisionLane["stats"];
    /** What the fast lane of `POST /v1/decisions:batch` did. */
    decisionBatchLane: DecisionLane["stats"];
  }
}

/** What the app is built from; `main.ts` opens these, tests make their own. */
export interface AppDeps {
  config: Config;
  db: Db;
  /** Hash of the general PSK (see `ensureGeneralPsk`). */
  generalPskHash: string;
  logger?: FastifyBaseLogger;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ABILITY_SET = new Set<string>(ABILITIES);

/**
 * Builds the Fastify app with every domain registered; never listens, so tests drive it with
 * `inject()` and `main.ts` decides where it serves.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, db } = deps;
  // The decision fast lane (decisions/fast-lane.ts) sees each request before Fastify does; it is
  // installed once every route is registered and removed when the app starts closing.
  let decisionLane: Lane | null = null;
  // Ranger PDP's authorize and authorizeMulti lanes (src/ranger/pdp/index.ts), likewise.
  let pdpLane: Lane | null = null;
  const trustedProxies = parseNetworks(config.trustedProxies).networks;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger, childLoggerFactory: lazyChildLogger } : { logger: false }),
    bodyLimit: config.bodyLimitBytes,
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // X-Forwarded-For counts only from the configured proxies (request.ip; docs/operations.md)
    trustProxy: (address: string) => inNetworks(trustedProxies, address),
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (decisionLane === null || !(decisionLane(req, res) || pdpLane?.(req, res))) handler(req, res);
      });
      // what Fastify sets on the servers it creates itself
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    forceCloseConnections: "idle",
    schemaErrorFormatter,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorBody);
  const routes: RouteOptions[] = [];
  app.decorate("routeCatalogue", routes);
  app.addHook("onRoute", (route) => {
    declareRoute(route);
    routes.push(route);
  });
  // Callback-style hooks on the request path: an async hook costs a promise and a microtask per request.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });

  installErrorHandling(app);
  installInputGuard(app);
  await installOpenApi(app);
  const metrics = installMetrics(app, db);

  const authenticator = new Authenticator({
    db,
    generalPskHash: deps.generalPskHash,
    oidc: config.oidcIssuer
      ? new OidcVerifier({
          issuer: config.oidcIssuer,
          audience: config.oidcAudience ?? "",
          clientId: config.oidcClientId,
        })
      : undefined,
    roleMapping: config.roleMapping,
    builtinRoleNames: BUILTIN_ROLES,
    sessionIdleSeconds: config.consoleSessionIdleSeconds,
  });
  const limiter = new FailureLimiter({
    limit: config.authFailureLimit,
    windowSeconds: config.authFailureWindowSeconds,
  });
  installAuthentication(app, { authenticator, limiter });
  installIdempotency(app, db);
  await installDecisions(app, db, metrics, { workBudget: config.decisionWorkBudget });
  installSimulatableRoutes(app, db);

  await app.register(healthRoutes(db));
  await app.register(whoamiRoutes);
  await app.register(credentialRoutes(db));
  await app.register(auditRoutes(db));
  await app.register(directoryRoutes(db, config));
  await app.register(identitySyncRoutes(db, () => app.decisions.afterLocalWrite()));
  await app.register(serviceDefRoutes(db, config.nx1Service));
  await app.register(policyRoutes(db));
  await app.register(simulationRoutes(db));
  const connectors = await installConnectors(app, db, config, metrics);
  await app.register(
    nx1Routes(db, config.nx1Service, (orgId, groupIds) =>
      connectors.waitDelivered(orgId, groupIds, config.connectorWaitMs),
    ),
  );
  await app.register(frontierRoutes(db));
  // Kerberos for Ranger plugins' /secure/ paths and role calls, when configured (docs/decisions.md)
  const kerberos = config.kerberosKeytab
    ? KerberosAcceptor.load({
        keytab: config.kerberosKeytab,
        realm: config.kerberosRealm ?? "",
        service: config.kerberosService,
      })
    : null;
  await app.register(
    distributionRoutes(db, { pluginNetworks: parseNetworks(config.pluginDownloadNetworks).networks, kerberos }),
  );
  await app.register(pluginGrantRoutes(db, { kerberos }));
  await app.register(pluginRoleRoutes(db, { kerberos }));
  await app.register(rangerPublicRoutes(db, { keepVersions: config.tagChangeLogVersions }));
  await app.register(rangerUsersyncRoutes(db));
  await app.register(tagRoutes(db, { keepVersions: config.tagChangeLogVersions }));
  await app.register(zoneRoutes(db));
  await app.register(myZonesRoutes(db));
  await app.register(puppetRoutes(db));
  await app.register(ariaRoutes(db));
  // The admin console: its sign-in API and its built files (src/console/, docs/console.md)
  const oidcSignIn =
    config.oidcIssuer && config.consoleOidcClientId
      ? new OidcSignIn({
          issuer: config.oidcIssuer,
          clientId: config.consoleOidcClientId,
          clientSecret: config.consoleOidcClientSecret,
          scopes: config.consoleOidcScopes,
        })
      : null;
  await app.register(consoleRoutes({ db, config, authenticator, limiter, oidcSignIn }));
  await app.register(consoleStaticRoutes(config.consoleDir ?? DEFAULT_CONSOLE_DIR));
  await app.register(scimRoutes(db));
  // What every fast lane shares: a request it read but cannot answer goes through Fastify whole.
  const laneFallback = {
    clientAddress: (req: IncomingMessage) =>
      clientAddress(req.socket.remoteAddress ?? "", req.headers["x-forwarded-for"], trustedProxies),
    replay: async (req: IncomingMessage, body: string) => {
      const answer = await app.inject({
        method: "POST",
        url: req.url ?? "/",
        headers: req.headers,
        payload: body,
        remoteAddress: req.socket.remoteAddress,
      });
      return { status: answer.statusCode, headers: answer.headers, body: answer.rawPayload };
    },
    bodyLimit: config.bodyLimitBytes,
    log: (err: unknown) => app.log.error({ err }, "decision fast lane: replay failed"),
  };
  const rangerPdpLane = await installRangerPdp(app, { config, db, authenticator, limiter, lane: laneFallback });
  const decider = createDecider(app.decisions);
  const laneAuthenticate = (req: IncomingMessage) => laneCredential(authenticator, req.headers["authorization-psk"]);
  const laneRetryAfter = (ip: string) => limiter.retryAfter(ip);
  const singleLane = createDecisionLane({
    authenticate: laneAuthenticate,
    retryAfter: laneRetryAfter,
    decide: decider.decideOne,
    bodySchema: DecisionRequest,
    answerSchema: Decision,
    record: (status, seconds) => app.requestMetrics.record("POST", "/v1/decisions", status, seconds),
    ...laneFallback,
  });
  const batchLane = createDecisionLane<BatchInput, BatchOutput>({
    path: "/v1/decisions:batch",
    authenticate: laneAuthenticate,
    retryAfter: laneRetryAfter,
    decide: decider.decideBatch,
    bodySchema: BatchRequest,
    answerSchema: BatchResponse,
    record: (status, seconds) => app.requestMetrics.record("POST", "/v1/decisions:batch", status, seconds),
    ...laneFallback,
    bodyLimit: BATCH_BODY_LIMIT,
  });
  decisionLane = (req, res) => singleLane(req, res) || batchLane(req, res);
  pdpLane = rangerPdpLane;
  app.decorate("decisionLane", singleLane.stats);
  app.decorate("decisionBatchLane", batchLane.stats);
  app.addHook("preClose", (done) => {
    decisionLane = null;
    pdpLane = null;
    done();
  });
  return app;
}

/**
 * Checks and completes a route as it is registered: it must declare an ability (the interactive
 * reference's own asset routes are public), and native routes get the shared error responses so
 * the OpenAPI document lists them, and a closed query string (unknown parameters are a 400).
 */
function declareRoute(route: RouteOptions): void {
  const config = (route.config ?? {}) as NonNullable<RouteOptions["config"]> & { ability?: string };
  if (!config.ability && route.url.startsWith("/docs")) {
    route.config = { ...config, ability: "public" } as RouteOptions["config"];
    return;
  }
  if (!config.ability || !ABILITY_SET.has(config.ability)) {
    throw new Error(
      `route ${String(route.method)} ${route.url} must declare config.ability (one of ${ABILITIES.join(", ")})`,
    );
  }
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  if (config.ability === "public") schema.security = [];
  if (!config.errorShape && !schema.hide) {
    // Ranger plugins of different versions send different query parameters (pluginCapabilities, ...):
    // the Ranger-compatible routes under /service/ stay open to them.
    if (schema.querystring && !route.url.startsWith("/service/")) schema.querystring = closedQuery(schema.querystring);
    const response = (schema.response ?? {}) as Record<string, unknown>;
    response["4xx"] ??= { $ref: "Error#" };
    response["5xx"] ??= { $ref: "Error#" };
    schema.response = response;
  }
  route.schema = schema;
}

/**
 * The lane's credential check: the general PSK or an API key already verified and cached, holding
 * `decision.check`; null for anything else (not cached, invalid, not allowed), which Fastify's
 * authentication then answers, with its failure counting and 401/403 bodies.
 */
function laneCredential(authenticator: Authenticator, psk: string | string[] | undefined): { ok: true } | null {
  if (typeof psk !== "string" || psk.length === 0) return null;
  const actor = authenticator.peekPsk(psk.trim());
  return actor !== null && can(actor, "decision.check") ? { ok: true } : null;
}
