import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { Authenticator } from "../../auth/authenticator.ts";
import type { FailureLimiter } from "../../auth/failure-limiter.ts";
import { parseNetworks } from "../../config/networks.ts";
import type { Config } from "../../config/schema.ts";
import { createDecisionLane, type DecisionLane, type DecisionLaneDeps } from "../../decisions/fast-lane.ts";
import type { Db } from "../../storage/db.ts";
import { createPdpAuthorizer } from "./authorizer.ts";
import { peekCaller, type TrustedHeader } from "./caller.ts";
import { parseDelegation } from "./delegation.ts";
import { pdpRoutes } from "./pdp.routes.ts";
import { AuthzRequest, AuthzResult, MultiAuthzRequest, MultiAuthzResult } from "./pdp.schemas.ts";

export { parseDelegation } from "./delegation.ts";

/** Answers a request on the Node server before Fastify does; false when Fastify must. */
export type Lane = (req: IncomingMessage, res: ServerResponse) => boolean;

declare module "fastify" {
  interface FastifyInstance {
    /** What the PDP's fast lanes did (answered, replayed, passed), by route. */
    rangerPdpLanes: { authorize: DecisionLane["stats"]; authorizeMulti: DecisionLane["stats"] };
  }
}

/**
 * Installs Ranger PDP's API (`/authz/v1/*`, `/health/live`, `/health/ready`) on the decision
 * runtime, and returns the fast lanes of `authorize` and `authorizeMulti` (the decision API's
 * lane, fast-lane.ts, with this route's body, answer and caller check) for the app's server to
 * try before Fastify. Call after `installDecisions`.
 */
export async function installRangerPdp(
  app: FastifyInstance,
  deps: {
    config: Config;
    db: Db;
    authenticator: Authenticator;
    limiter: FailureLimiter;
    lane: Pick<DecisionLaneDeps, "replay" | "bodyLimit" | "log" | "clientAddress">;
  },
): Promise<Lane> {
  const { config } = deps;
  const networks = parseNetworks(config.rangerPdpTrustedNetworks).networks;
  const trusted: TrustedHeader | null =
    config.rangerPdpUserHeader && networks ? { name: config.rangerPdpUserHeader.toLowerCase(), networks } : null;
  const authorizer = createPdpAuthorizer(app.decisions, parseDelegation(config.rangerPdpDelegationUsers).delegation);
  await app.register(pdpRoutes(authorizer, { runtime: app.decisions, db: deps.db, trusted }));

  const laneOf = <In, Out>(
    path: string,
    bodySchema: DecisionLaneDeps["bodySchema"],
    answerSchema: DecisionLaneDeps["answerSchema"],
    decide: (body: In, ctx: { ip: string; id: string; caller: { name: string } }) => Out | Promise<Out>,
  ) =>
    createDecisionLane<In, Out, { name: string }>({
      path,
      // the authorizer builds its answers from the schema's fields alone (the lane test holds the
      // two texts equal): for 100 accesses JSON.stringify takes 52 µs to bytes, the schema's 98
      stringify: JSON.stringify,
      authenticate: (req) => peekCaller(trusted, deps.authenticator, req.headers, req.socket.remoteAddress ?? ""),
      retryAfter: (ip) => deps.limiter.retryAfter(ip),
      decide,
      bodySchema,
      answerSchema,
      record: (status, seconds) => app.requestMetrics.record("POST", path, status, seconds),
      ...deps.lane,
    });
  const single = laneOf("/authz/v1/authorize", AuthzRequest, AuthzResult, (body: AuthzRequest, ctx) =>
    authorizer.authorize(body, { caller: ctx.caller.name, id: ctx.id, ip: ctx.ip }),
  );
  const multi = laneOf(
    "/authz/v1/authorizeMulti",
    MultiAuthzRequest,
    MultiAuthzResult,
    (body: MultiAuthzRequest, ctx) =>
      authorizer.authorizeMulti(body, { caller: ctx.caller.name, id: ctx.id, ip: ctx.ip }),
  );
  app.decorate("rangerPdpLanes", { authorize: single.stats, authorizeMulti: multi.stats });
  return (req, res) => single(req, res) || multi(req, res);
}
