import type { BlockList } from "node:net";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { type Static, Type } from "typebox";
import type { KerberosAcceptor } from "../../auth/kerberos.ts";
import { readServiceState } from "../../decisions/engine-source.ts";
import { ServiceNotFound } from "../../errors.ts";
import { requireService } from "../../policies/policies.routes.ts";
import type { Db } from "../../storage/db.ts";
import {
  assertPluginAllowed,
  type PluginAllowList,
  pluginDownloadCredentials,
  securePluginConfig,
} from "./plugin-auth.ts";
import { listDownloads, type PluginDownload, recordDownload } from "./plugin-records.ts";
import { exportRangerRoles } from "./ranger-roles.ts";
import { downloadPolicies } from "./service-policies.ts";
import { downloadServiceTags } from "./service-tags-download.ts";

const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });

const PluginQuery = {
  pluginId: Type.Optional(Type.String({ maxLength: 512, description: "Plugin id, recorded with each download" })),
  clusterName: Type.Optional(Type.String({ maxLength: 512 })),
  lastActivationTime: Type.Optional(Type.Integer({ description: "Accepted for compatibility; not used" })),
};

const PolicyQuery = Type.Object({
  lastKnownVersion: Type.Integer({ default: -1, description: "Policy version the plugin holds; -1 for none" }),
  supportsPolicyDeltas: Type.Boolean({ default: false, description: "Send deltas when the log has them" }),
  ...PluginQuery,
});

const RolesQuery = Type.Object({
  lastKnownRoleVersion: Type.Integer({ default: -1, description: "Role version the plugin holds" }),
  ...PluginQuery,
});

const TagsQuery = Type.Object({
  lastKnownVersion: Type.Integer({ default: -1, description: "Tag version the plugin holds; -1 for none" }),
  supportsTagDeltas: Type.Boolean({
    default: false,
    description: "Send a ServiceTags delta (isDelta true) when the tag change log bridges lastKnownVersion to now",
  }),
  ...PluginQuery,
});

const RANGER_NOTE =
  "Ranger's plugin download API. Authenticate with the native credentials (Authorization-PSK with the " +
  "general PSK or an API key, Basic with a service account, or a Bearer token); the ability is `policy.read`. " +
  "The non-secure path also answers requests without credentials from the networks listed in " +
  "GATEHOUSE_PLUGIN_DOWNLOAD_NETWORKS, as Ranger answers its plugins; the /secure/ path always authenticates.";

/**
 * Ranger's plugin download API (`/service/plugins/...`, `/service/roles/...`, `/service/tags/...`,
 * each with its `/secure/` twin), and `GET /v1/services/{service}/plugins` listing the plugins
 * that downloaded. Every download is recorded when it names a `pluginId`; recording never fails
 * a download.
 */
export function distributionRoutes(
  db: Db,
  options: { pluginNetworks: BlockList | null; kerberos: KerberosAcceptor | null } = {
    pluginNetworks: null,
    kerberos: null,
  },
): FastifyPluginAsyncTypebox {
  // Ranger's non-secure download paths admit the listed networks without credentials; the
  // /secure/ twins always authenticate, with SPNEGO too when Kerberos is configured (plugin-auth.ts).
  const downloadCredentials = pluginDownloadCredentials(options.pluginNetworks);
  const secure = securePluginConfig(options.kerberos, "policy.read");
  const configOf = (url: string) =>
    url.includes("/secure/") ? secure : { ability: "policy.read" as const, credentials: downloadCredentials };
  /** A Kerberos caller must be in one of the service's allow `lists` (Ranger's rule). */
  const checkListed = async (request: FastifyRequest, service: string, lists: readonly PluginAllowList[]) => {
    if (request.actor.type !== "kerberos") return;
    assertPluginAllowed(request.actor, (await requireService(db.kysely, service)).service.configs, lists);
  };
  const record = async (request: FastifyRequest, d: Omit<PluginDownload, "clientIp">) => {
    if (!d.pluginId) return;
    try {
      await recordDownload(db.kysely, { ...d, clientIp: request.ip });
    } catch (err) {
      request.log.warn({ err }, "plugin download not recorded");
    }
  };

  return async (app) => {
    const policiesHandler = async (
      request: FastifyRequest<{ Params: { serviceName: string }; Querystring: Static<typeof PolicyQuery> }>,
      reply: FastifyReply,
    ) => {
      const q = request.query;
      await checkListed(request, request.params.serviceName, [
        "policy.download.auth.users",
        "policy.grantrevoke.auth.users",
      ]);
      const result = await downloadPolicies(db, request.params.serviceName, q.lastKnownVersion, q.supportsPolicyDeltas);
      await record(request, {
        serviceId: result.serviceId,
        pluginId: q.pluginId ?? "",
        kind: "policies",
        clusterName: q.clusterName ?? "",
        lastKnownVersion: q.lastKnownVersion,
        servedVersion: result.version,
        status: result.status,
      });
      if (result.status === 304) return reply.code(304).send();
      return reply.send(result.body);
    };
    for (const url of [
      "/service/plugins/policies/download/:serviceName",
      "/service/plugins/secure/policies/download/:serviceName",
    ]) {
      app.get(
        url,
        {
          config: configOf(url),
          schema: {
            tags: ["distribution"],
            summary: "Download the service's policies (Ranger ServicePolicies)",
            description: `${RANGER_NOTE} 304 when \`lastKnownVersion\` is current; \`policyDeltas\` instead of \`policies\` when the plugin supports deltas and the change log has them. \`tagPolicies\` carries the linked tag service's policies (its changes also bump this service's version and arrive among the deltas). \`securityZones\` carries the service's security zones with their resources and their policies (or deltas), which are then absent from the top level, as Ranger sends them.`,
            params: ServiceNameParams,
            querystring: PolicyQuery,
            response: { 200: Type.Unknown({ description: "ServicePolicies" }), 304: Type.Null() },
          },
        },
        policiesHandler,
      );
    }

    const rolesHandler = async (
      request: FastifyRequest<{ Params: { serviceName: string }; Querystring: Static<typeof RolesQuery> }>,
      reply: FastifyReply,
    ) => {
      const state = await readServiceState(db.kysely, request.params.serviceName);
      if (!state) throw ServiceNotFound(`service \`${request.params.serviceName}\` not found`);
      await checkListed(request, state.name, ["policy.download.auth.users"]);
      const roles = await exportRangerRoles(db.kysely, state.name);
      const q = request.query;
      const current = q.lastKnownRoleVersion === roles.roleVersion;
      await record(request, {
        serviceId: state.id,
        pluginId: q.pluginId ?? "",
        kind: "roles",
        clusterName: q.clusterName ?? "",
        lastKnownVersion: q.lastKnownRoleVersion,
        servedVersion: roles.roleVersion ?? null,
        status: current ? 304 : 200,
      });
      if (current) return reply.code(304).send();
      return reply.send(roles);
    };
    for (const url of ["/service/roles/download/:serviceName", "/service/roles/secure/download/:serviceName"]) {
      app.get(
        url,
        {
          config: configOf(url),
          schema: {
            tags: ["distribution"],
            summary: "Download the roles (Ranger RangerRoles)",
            description: `${RANGER_NOTE} The directory's roles with their users, groups and member roles; \`roleVersion\` is a content fingerprint, 304 when it equals \`lastKnownRoleVersion\`.`,
            params: ServiceNameParams,
            querystring: RolesQuery,
            response: { 200: Type.Unknown({ description: "RangerRoles" }), 304: Type.Null() },
          },
        },
        rolesHandler,
      );
    }

    const tagsHandler = async (
      request: FastifyRequest<{ Params: { serviceName: string }; Querystring: Static<typeof TagsQuery> }>,
      reply: FastifyReply,
    ) => {
      const q = request.query;
      await checkListed(request, request.params.serviceName, ["tag.download.auth.users"]);
      const result = await downloadServiceTags(db, request.params.serviceName, q.lastKnownVersion, q.supportsTagDeltas);
      await record(request, {
        serviceId: result.serviceId,
        pluginId: q.pluginId ?? "",
        kind: "tags",
        clusterName: q.clusterName ?? "",
        lastKnownVersion: q.lastKnownVersion,
        servedVersion: result.version,
        status: result.status,
      });
      if (result.status === 304) return reply.code(304).send();
      return reply.send(result.body);
    };
    for (const url of ["/service/tags/download/:serviceName", "/service/tags/secure/download/:serviceName"]) {
      app.get(
        url,
        {
          config: configOf(url),
          schema: {
            tags: ["distribution"],
            summary: "Download the resource tags (Ranger ServiceTags)",
            description: `${RANGER_NOTE} The service's tagged resources with their tags and tag types; 304 when \`lastKnownVersion\` equals the service's \`tagVersion\`. With \`supportsTagDeltas=true\`, only what changed since \`lastKnownVersion\` (\`isDelta\` true: changed resources and tags whole, removed ones by id) when the tag change log covers it; otherwise the whole document (\`isDelta\` false).`,
            params: ServiceNameParams,
            querystring: TagsQuery,
            response: { 200: Type.Unknown({ description: "ServiceTags" }), 304: Type.Null() },
          },
        },
        tagsHandler,
      );
    }

    app.get(
      "/v1/services/:service/plugins",
      {
        config: { ability: "policy.read" },
        schema: {
          tags: ["distribution"],
          summary: "Plugins that downloaded from the service",
          description: "The last download of each plugin id and kind (policies, roles, tags), most recent first.",
          params: Type.Object({ service: Type.String({ minLength: 1, maxLength: 255 }) }),
          response: {
            200: Type.Object(
              {
                items: Type.Array(
                  Type.Object({
                    pluginId: Type.String(),
                    kind: Type.String(),
                    clusterName: Type.String(),
                    lastKnownVersion: Type.Union([Type.Integer(), Type.Null()]),
                    servedVersion: Type.Union([Type.Integer(), Type.Null()]),
                    status: Type.Integer({ description: "200 (sent) or 304 (was current)" }),
                    clientIp: Type.Union([Type.String(), Type.Null()]),
                    downloadedAt: Type.String({ format: "date-time" }),
                  }),
                ),
              },
              { title: "PluginDownloads" },
            ),
          },
        },
      },
      async (request) => {
        const state = await readServiceState(db.kysely, request.params.service);
        if (!state) throw ServiceNotFound(`service \`${request.params.service}\` not found`);
        const rows = await listDownloads(db.kysely, state.id);
        return {
          items: rows.map((r) => ({
            pluginId: r.plugin_id,
            kind: r.kind,
            clusterName: r.cluster_name,
            lastKnownVersion: r.last_known_version,
            servedVersion: r.served_version,
            status: r.status,
            clientIp: r.client_ip,
            downloadedAt: r.downloaded_at.toISOString(),
          })),
        };
      },
    );
  };
}
