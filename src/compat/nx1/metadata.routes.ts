import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { defaultOrgId } from "../../directory/default-org.ts";
import { prepareServiceDef } from "../../engine/model/service-def.ts";
import type { Db } from "../../storage/db.ts";
import { nx1ErrorShape } from "./errors.ts";
import { nx1Service } from "./policies.routes.ts";
import {
  EXTENSION_NOTE,
  errorResponses,
  NameListResponse,
  NX1_SECURITY,
  NX1_TAGS,
  ServiceDefMetadataResponse,
} from "./schemas.ts";

const LIST_LIMIT = 10_000;

/** `GET .../metadata/service-def` (Nx1) and the `GET .../metadata/{groups,roles,users}` extensions. */
export function nx1MetadataRoutes(db: Db, serviceName: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/govern/data-access/metadata/service-def",
      {
        config: { ability: "policy.read", errorShape: nx1ErrorShape },
        schema: {
          tags: NX1_TAGS,
          summary: "Ranger service-def slice (resource keys and access types)",
          operationId: "get_service_def_metadata_api_govern_data_access_metadata_service_def_get",
          description:
            "Nx1-compatible. What the policy form needs from the Nx1 service's definition: its access resources, access types (without markers) and mask types.",
          security: NX1_SECURITY,
          response: { 200: ServiceDefMetadataResponse, ...errorResponses(502, 503) },
        },
      },
      async () => {
        const { def } = await nx1Service(db.kysely, serviceName);
        const prepared = prepareServiceDef(def);
        return {
          resources: (def.resources ?? []).map((r) => ({
            name: r.name,
            recursiveSupported: r.recursiveSupported === true,
            excludesSupported: r.excludesSupported === true,
            mandatory: r.mandatory === true,
            lookupSupported: r.lookupSupported === true,
            parent: r.parent ? r.parent : null,
            level: r.level ?? 0,
          })),
          accessTypes: [...prepared.accessTypeNames],
          maskTypes: (def.dataMaskDef?.maskTypes ?? []).map((m) => ({
            name: m.name,
            label: m.label ?? m.name,
            description: m.description ?? "",
          })),
        };
      },
    );

    const lists = {
      users: async (orgId: string) =>
        (
          await db.kysely
            .selectFrom("users")
            .select("username as name")
            .where("org_id", "=", orgId)
            .where("status", "=", "active")
            .orderBy("username")
            .limit(LIST_LIMIT)
            .execute()
        ).map((r) => r.name),
      groups: async (orgId: string) =>
        (
          await db.kysely
            .selectFrom("groups")
            .select("name")
            .where("org_id", "=", orgId)
            .orderBy("name")
            .limit(LIST_LIMIT)
            .execute()
        ).map((r) => r.name),
      roles: async (orgId: string) =>
        (
          await db.kysely
            .selectFrom("roles")
            .select("name")
            .where((eb) => eb.or([eb("org_id", "=", orgId), eb("org_id", "is", null)]))
            .orderBy("name")
            .limit(LIST_LIMIT)
            .execute()
        ).map((r) => r.name),
    };
    for (const [kind, load] of Object.entries(lists)) {
      app.get(
        `/api/govern/data-access/metadata/${kind}`,
        {
          config: { ability: "policy.read", errorShape: nx1ErrorShape },
          schema: {
            tags: NX1_TAGS,
            summary: `List ${kind} for policy-form dropdowns`,
            operationId: `list_${kind}_metadata_api_govern_data_access_metadata_${kind}_get`,
            description: `${EXTENSION_NOTE} Names of the default organisation's ${kind}, sorted (at most ${LIST_LIMIT}).`,
            security: NX1_SECURITY,
            response: { 200: NameListResponse, ...errorResponses(503) },
          },
        },
        async () => ({ items: await load(await defaultOrgId(db.kysely)) }),
      );
    }
  };
}
