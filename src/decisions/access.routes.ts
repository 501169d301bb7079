import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { pageArray } from "../directory/effective.ts";
import { UserNotFound } from "../errors.ts";
import { PageQuery } from "../http/schemas.ts";
import { parseResourceParam, whatCanUserAccess, whoCanAccess } from "./access.ts";
import { checkRequestNames } from "./decide.ts";
import type { DecisionRuntime } from "./runtime.ts";

const ServiceParams = Type.Object({ service: Type.String({ minLength: 1, maxLength: 255 }) });

const AccessEntry = Type.Object({
  name: Type.String(),
  accesses: Type.Array(
    Type.Object({
      accessType: Type.String(),
      result: Type.Union([Type.Literal("allowed"), Type.Literal("denied"), Type.Literal("conditional")]),
      policyId: Type.Union([Type.Integer(), Type.Null()]),
    }),
  ),
});

/**
 * Effective-access routes: who can access a resource (users, groups, roles with the deciding
 * policies), what a user can access in a service, and the state of a service's live engine.
 */
export function accessRoutes(runtime: DecisionRuntime): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/v1/services/:service/access",
      {
        config: { ability: "decision.check" },
        schema: {
          tags: ["decisions"],
          summary: "Who can access a resource",
          description:
            "Users, groups and roles allowed or denied each access type on the resource, with the deciding policy " +
            "(Ranger's resource ACLs), plus the data masks and row filters that apply.",
          params: ServiceParams,
          querystring: Type.Object({
            resource: Type.String({
              minLength: 1,
              maxLength: 4096,
              description: "`name=value` pairs separated by commas, e.g. `catalog=sales,schema=eu,table=orders`",
            }),
          }),
          response: {
            200: Type.Object(
              {
                service: Type.String(),
                resource: Type.Record(Type.String(), Type.String()),
                policyVersion: Type.Integer(),
                users: Type.Array(AccessEntry),
                groups: Type.Array(AccessEntry),
                roles: Type.Array(AccessEntry),
                dataMasks: Type.Array(Type.Unknown()),
                rowFilters: Type.Array(Type.Unknown()),
              },
              { title: "ResourceAccess" },
            ),
          },
        },
      },
      async (request) => {
        const live = await runtime.engines.get(request.params.service);
        const resource = parseResourceParam(request.query.resource);
        checkRequestNames(live, resource, undefined, "query");
        return whoCanAccess(live, resource);
      },
    );

    app.get(
      "/v1/users/:id/access",
      {
        config: { ability: "decision.check" },
        schema: {
          tags: ["decisions"],
          summary: "What a user can access in a service",
          description:
            "Every policy item reaching the user directly, through an effective group (`throughGroup` names the " +
            "direct group) or `public`, or through a role: resources, access types, allow or deny.",
          params: Type.Object({
            id: Type.String({ minLength: 1, maxLength: 256, description: "User id or username" }),
          }),
          querystring: Type.Intersect([
            PageQuery,
            Type.Object({ service: Type.String({ minLength: 1, maxLength: 255 }) }),
          ]),
          response: {
            200: Type.Object(
              {
                user: Type.Object({
                  id: Type.String(),
                  username: Type.String(),
                  groups: Type.Array(Type.String()),
                  roles: Type.Array(Type.String()),
                }),
                service: Type.String(),
                policyVersion: Type.Integer(),
                items: Type.Array(Type.Unknown()),
                nextCursor: Type.Union([Type.String(), Type.Null()]),
                total: Type.Integer(),
              },
              { title: "UserAccess" },
            ),
          },
        },
      },
      async (request) => {
        const live = await runtime.engines.get(request.query.service);
        const { id } = request.params;
        const user = (await runtime.principals.byId(id)) ?? (await runtime.principals.byUsername(id));
        if (!user) {
          throw UserNotFound(`path.id: user \`${id}\` not found (by id or username)`, {
            details: [{ field: "path.id", rule: "exists", message: `path.id: user \`${id}\` not found` }],
          });
        }
        const page = pageArray(whatCanUserAccess(live, user), request.query.limit, request.query.cursor);
        return {
          user: { id: user.userId, username: user.username, groups: user.groups, roles: user.roles },
          service: live.serviceName,
          policyVersion: live.version,
          ...page,
        };
      },
    );

    app.get(
      "/v1/services/:service/engine",
      {
        config: { ability: "policy.read" },
        schema: {
          tags: ["decisions"],
          summary: "State of the service's live engine",
          description: "The policy version it serves, its size, when it was built and last updated from deltas.",
          params: ServiceParams,
          response: {
            200: Type.Object(
              {
                service: Type.String(),
                serviceId: Type.Integer(),
                policyVersion: Type.Integer(),
                policies: Type.Integer(),
                enabledPolicies: Type.Integer(),
                builtAt: Type.String({ format: "date-time" }),
                updatedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
                deltasApplied: Type.Integer({ description: "Deltas applied since the build" }),
                builds: Type.Integer({ description: "Full builds of any engine in this process" }),
              },
              { title: "EngineState" },
            ),
          },
        },
      },
      async (request) => {
        const live = await runtime.engines
          .refresh(request.params.service)
          .then((l) => l ?? runtime.engines.get(request.params.service));
        let enabled = 0;
        for (const p of live.policies.values()) if (p.isEnabled !== false) enabled++;
        return {
          service: live.serviceName,
          serviceId: live.serviceId,
          policyVersion: live.version,
          policies: live.policies.size,
          enabledPolicies: enabled,
          builtAt: live.builtAt.toISOString(),
          updatedAt: live.updatedAt?.toISOString() ?? null,
          deltasApplied: live.deltasApplied,
          builds: runtime.engines.stats.builds,
        };
      },
    );
  };
}
