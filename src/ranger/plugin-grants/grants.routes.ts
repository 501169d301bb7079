import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { KerberosAcceptor } from "../../auth/kerberos.ts";
import { fieldError, PolicyInvalid } from "../../errors.ts";
import { requireService } from "../../policies/policies.routes.ts";
import type { Db } from "../../storage/db.ts";
import { rangerErrorShape } from "../admin/errors.ts";
import { assertPluginAllowed, securePluginConfig } from "../plugin-download/plugin-auth.ts";
import { applyGrantRevoke, checkGrantRequest, type GrantRevokeRequest, grantorNotAdmin } from "./grants.service.ts";

const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });
const Names = Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 1000 });

/** Ranger's `GrantRevokeRequest`; fields newer or older plugins add are accepted and ignored. */
const GrantRevokeBody = Type.Object(
  {
    grantor: Type.String({ minLength: 1, maxLength: 256, description: "The user running GRANT/REVOKE" }),
    grantorGroups: Type.Optional(Names),
    resource: Type.Record(
      Type.String({ minLength: 1, maxLength: 128 }),
      Type.String({ minLength: 1, maxLength: 4096 }),
      {
        description: "Resource elements, one value each (e.g. database, table)",
      },
    ),
    users: Type.Optional(Names),
    groups: Type.Optional(Names),
    roles: Type.Optional(Names),
    accessTypes: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 100 }),
    delegateAdmin: Type.Optional(Type.Boolean()),
    enableAudit: Type.Optional(Type.Boolean()),
    replaceExistingPermissions: Type.Optional(Type.Boolean()),
    isRecursive: Type.Optional(Type.Boolean()),
    zoneName: Type.Optional(Type.String({ maxLength: 255 })),
    ownerUser: Type.Optional(Type.String({ maxLength: 256 })),
    clientIPAddress: Type.Optional(Type.String()),
    clientType: Type.Optional(Type.String()),
    requestData: Type.Optional(Type.String()),
    sessionId: Type.Optional(Type.String()),
    clusterName: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/** Ranger's `RESTResponse` on success, plus what Gatehouse did (extra fields plugins ignore). */
const GrantRevokeResponse = Type.Object({
  statusCode: Type.Integer({ description: "0: success (Ranger STATUS_SUCCESS)" }),
  outcome: Type.Union([
    Type.Literal("created"),
    Type.Literal("updated"),
    Type.Literal("unchanged"),
    Type.Literal("none"),
  ]),
  policyId: Type.Union([Type.Integer(), Type.Null()]),
  policyName: Type.Union([Type.String(), Type.Null()]),
  zoneName: Type.String(),
});

const NOTE =
  "Ranger's plugin grant/revoke API, which Hive, Trino, HBase and other plugins call when a user runs SQL " +
  "`GRANT`/`REVOKE`. The caller authenticates with native credentials holding `policy.write` (the plugin's " +
  "service account); the grantor must hold delegated admin on the resource (a policy item with delegateAdmin, " +
  "or be a super user of the service), decided by the service's live engine.";

/**
 * `POST /service/plugins/services/{grant,revoke}/{serviceName}` and their `/secure/` twins: the
 * grantor's delegated admin is decided by the live engine (groups from the request, else the
 * directory), the zone is the request's or the one the resource falls in, and the change is
 * merged into the policy covering exactly the resource (grants.service.ts). The loaded engines
 * catch up before the answer, so the grant is visible to the next decision in this process.
 */
export function pluginGrantRoutes(
  db: Db,
  options: { kerberos: KerberosAcceptor | null } = { kerberos: null },
): FastifyPluginAsyncTypebox {
  const secure = securePluginConfig(options.kerberos, "policy.write");
  return async (app) => {
    const handle =
      (kind: "grant" | "revoke") =>
      async (request: FastifyRequest<{ Params: { serviceName: string }; Body: GrantRevokeRequest }>) => {
        const body = request.body;
        checkGrantRequest(body, kind);
        const target = await requireService(db.kysely, request.params.serviceName);
        assertPluginAllowed(request.actor, target.service.configs, ["policy.grantrevoke.auth.users"]);
        const live = await app.decisions.engines.get(target.service.name);
        const principal =
          body.grantorGroups && body.grantorGroups.length > 0
            ? null
            : await app.decisions.principals.byUsername(body.grantor);
        const access = {
          resource: { elements: body.resource, ...(body.ownerUser ? { ownerUser: body.ownerUser } : {}) },
          user: body.grantor,
          userGroups:
            body.grantorGroups && body.grantorGroups.length > 0 ? body.grantorGroups : (principal?.groups ?? []),
          userRoles: principal?.roles ?? [],
        };
        const zoneName = body.zoneName ?? zoneOf(live.engine.zoneNamesFor(live.engine.preProcess(access)));
        if (!live.engine.isAccessAllowed({ ...access, accessType: "_admin" }).isAllowed) {
          throw grantorNotAdmin(kind, body.grantor);
        }
        const outcome = await db.transaction((tx) =>
          applyGrantRevoke(tx, auditContextOf(request), target, kind, body, zoneName),
        );
        await app.decisions.afterLocalWrite();
        return {
          statusCode: 0,
          outcome: outcome.status,
          policyId: outcome.policyId,
          policyName: outcome.policyName,
          zoneName: outcome.zoneName,
        };
      };

    for (const kind of ["grant", "revoke"] as const) {
      for (const url of [
        `/service/plugins/services/${kind}/:serviceName`,
        `/service/plugins/secure/services/${kind}/:serviceName`,
      ]) {
        app.post(
          url,
          {
            config: {
              ...(url.includes("/secure/") ? secure : { ability: "policy.write" as const }),
              errorShape: rangerErrorShape,
            },
            schema: {
              tags: ["distribution"],
              summary: kind === "grant" ? "Grant access (Ranger plugin GRANT)" : "Revoke access (Ranger plugin REVOKE)",
              description: `${NOTE} ${
                kind === "grant"
                  ? "The principals gain the access types on the policy whose resources are exactly the request's (a deny of the same access becomes a deny exception, as in Ranger); with no such policy one named `grant-<epoch ms>` is created. `replaceExistingPermissions` first removes the principals from its allow items."
                  : "The access types are removed from the principals' allow items and deny exceptions of the policy whose resources are exactly the request's; `replaceExistingPermissions` removes the principals from its allow items. No such policy: nothing changes (`outcome: none`)."
              } 403 when the grantor lacks delegated admin.`,
              params: ServiceNameParams,
              body: GrantRevokeBody,
              response: { 200: GrantRevokeResponse },
            },
          },
          handle(kind),
        );
      }
    }
  };
}

/** The zone a grant's resource falls in: none, or exactly one (several is the caller's to resolve). */
function zoneOf(zones: readonly string[]): string {
  if (zones.length <= 1) return zones[0] ?? "";
  throw fieldError(
    PolicyInvalid,
    "body.zoneName",
    "zoneAmbiguous",
    `the resource falls in several security zones (${zones.join(", ")}); name one`,
  );
}
