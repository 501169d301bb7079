import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { DecisionRuntime } from "../../decisions/runtime.ts";
import type { Db } from "../../storage/db.ts";
import type { createPdpAuthorizer, PdpContext } from "./authorizer.ts";
import { pdpCredentials, type TrustedHeader } from "./caller.ts";
import {
  AuthzRequest,
  AuthzResult,
  FilterResourcesRequest,
  FilterResourcesResult,
  Live,
  MultiAuthzRequest,
  MultiAuthzResult,
  Ready,
  ResourcePermissions,
  ResourcePermissionsRequest,
} from "./pdp.schemas.ts";
import { pdpErrorShape } from "./pdp-errors.ts";

/** The challenge of a 401 from the PDP routes: the schemes they take. */
const CHALLENGE = 'Bearer realm="Ranger PDP", Basic realm="gatehouse", Authorization-PSK realm="gatehouse"';

/**
 * Ranger PDP's REST API (`RangerPdpREST`, `/authz/v1/*`) and its status servlet's `/health/live`
 * and `/health/ready`. A caller holding `decision.check` (or named by the trusted header) may ask
 * about itself; asking about someone else takes a delegation user (see authorizer.ts). Errors come in Ranger's `{code, message}`.
 */
export function pdpRoutes(
  authorizer: ReturnType<typeof createPdpAuthorizer>,
  deps: { runtime: DecisionRuntime; db: Db; trusted: TrustedHeader | null },
): FastifyPluginAsyncTypebox {
  const config = {
    ability: "decision.check",
    credentials: pdpCredentials(deps.trusted),
    challenge: CHALLENGE,
    errorShape: pdpErrorShape,
  } as const;
  const ctxOf = (request: { actor: { name: string }; id: string; ip: string }): PdpContext => ({
    caller: request.actor.name,
    id: request.id,
    ip: request.ip,
  });
  const tags = ["ranger-pdp"];
  return async (app) => {
    app.post(
      "/authz/v1/authorize",
      {
        config,
        schema: {
          tags,
          summary: "Authorize one access (Ranger PDP)",
          description:
            "A resource (`type:value`, with optional `subResources`) and its permissions for a user: one decision per permission, with row filter and data mask.",
          body: AuthzRequest,
          response: { 200: AuthzResult },
        },
      },
      // Not async: a cached decision is returned as a value
      (request) => authorizer.authorize(request.body, ctxOf(request)),
    );
    app.post(
      "/authz/v1/authorizeMulti",
      {
        config,
        schema: {
          tags,
          summary: "Authorize several accesses (Ranger PDP)",
          description: "Each access decided; `decision` is ALLOW or DENY when all agree, else PARTIAL.",
          body: MultiAuthzRequest,
          response: { 200: MultiAuthzResult },
        },
      },
      (request) => authorizer.authorizeMulti(request.body, ctxOf(request)),
    );
    app.post(
      "/authz/v1/permissions",
      {
        config,
        schema: {
          tags,
          summary: "Permissions on a resource by user, group and role (Ranger PDP)",
          description: "Delegation users only.",
          body: ResourcePermissionsRequest,
          response: { 200: ResourcePermissions },
        },
      },
      (request) => authorizer.permissions(request.body, ctxOf(request)),
    );
    app.post(
      "/authz/v1/filterResources",
      {
        config,
        schema: {
          tags,
          summary: "The resources a user holds the permissions on (Ranger PDP)",
          description: "Delegation users only.",
          body: FilterResourcesRequest,
          response: { 200: FilterResourcesResult },
        },
      },
      (request) => authorizer.filterResources(request.body, ctxOf(request)),
    );
    app.get(
      "/health/live",
      {
        config: { ability: "public" },
        schema: { tags, summary: "Liveness, as Ranger PDP answers it", response: { 200: Live } },
      },
      async () => ({ status: "UP", service: "ranger-pdp", live: true }),
    );
    app.get(
      "/health/ready",
      {
        config: { ability: "public" },
        schema: { tags, summary: "Readiness, as Ranger PDP answers it", response: { 200: Ready, 503: Ready } },
      },
      async (_request, reply) => {
        let accepting = true;
        try {
          await deps.db.ping();
        } catch {
          accepting = false;
        }
        return reply.code(accepting ? 200 : 503).send({
          status: accepting ? "READY" : "NOT_READY",
          service: "ranger-pdp",
          ready: accepting,
          authorizerInitialized: true,
          acceptingRequests: accepting,
          loadedServicesCount: deps.runtime.engines.loaded().length,
        });
      },
    );
  };
}
