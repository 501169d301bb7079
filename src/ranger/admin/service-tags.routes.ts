import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { Db } from "../../storage/db.ts";
import { importServiceTags, type ServiceTagsImport } from "../../tags/import-service-tags.ts";
import type { TagLogOptions } from "../../tags/tag-changes.ts";
import { ServiceTagsImportBody } from "../../tags/tags.routes.ts";
import { downloadServiceTags } from "../plugin-download/service-tags-download.ts";
import { rangerErrorShape } from "./errors.ts";
import { RANGER_V2 } from "./policies.routes.ts";

const tags = ["ranger-public-api"];
/** A full tag sync carries every tagged entity of a cluster: the import's own limit. */
const BODY_LIMIT = 64 * 1024 * 1024;
const ServiceNameParams = Type.Object({ serviceName: Type.String({ minLength: 1, maxLength: 255 }) });

/** `RangerServiceTags#op` → `ServiceTags#op` (Ranger's `toServiceTagsOp`): `set` is add-or-update. */
const OPS: Record<string, ServiceTagsImport["op"]> = { set: "add_or_update", replace: "replace", delete: "delete" };

/** Ranger's `RangerServiceTags`: the import document with the service taken from the path. */
const RangerServiceTagsBody = Type.Object(
  {
    ...ServiceTagsImportBody.properties,
    op: Type.Optional(
      Type.Union([Type.Literal("set"), Type.Literal("replace"), Type.Literal("delete"), Type.Literal("add_or_update")]),
    ),
    serviceName: Type.Optional(Type.String({ maxLength: 255 })),
  },
  { additionalProperties: true, title: "RangerServiceTags" },
);

/**
 * Ranger's public service-tags API (`PublicAPIsv2#importServiceTags`, `#getServiceTags`):
 * `PUT /service/{serviceName}/tags` imports a `RangerServiceTags` document into the service named
 * by the path (as `importservicetags` does, in one transaction with its audit event), and
 * `GET` answers the service's whole tag document.
 */
export function rangerServiceTagRoutes(db: Db, log: TagLogOptions): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.put(
      `${RANGER_V2}/service/:serviceName/tags`,
      {
        config: { ability: "policy.write", errorShape: rangerErrorShape },
        bodyLimit: BODY_LIMIT,
        schema: {
          tags,
          summary: "Import a service's resource tags (Ranger v2)",
          description:
            "`op` `set` (default: add or update), `replace` (the service's tagged resources are replaced) or `delete`; the path names the service, whatever the body says. 204.",
          params: ServiceNameParams,
          body: RangerServiceTagsBody,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const body = request.body as unknown as ServiceTagsImport & { op?: string };
        const serviceName = request.params.serviceName;
        const doc: ServiceTagsImport = {
          ...body,
          op: OPS[body.op ?? "set"] ?? "add_or_update",
          serviceName,
          serviceResources: body.serviceResources?.map((r) => ({ ...r, serviceName })),
        };
        await db.transaction((tx) => importServiceTags(tx, auditContextOf(request), doc, log));
        // The decision domain's after-write hook skips /service/: catch this process's engines up.
        await app.decisions.engines.refreshAll();
        return reply.code(204).send(null);
      },
    );
    app.get(
      `${RANGER_V2}/service/:serviceName/tags`,
      {
        config: { ability: "policy.read", errorShape: rangerErrorShape },
        schema: {
          tags,
          summary: "A service's resource tags (Ranger v2)",
          description:
            "Ranger's `RangerServiceTags` (`op` `set`): every tag type, tag and tagged resource of the service.",
          params: ServiceNameParams,
          response: { 200: Type.Unknown() },
        },
      },
      async (request) => {
        const answer = await downloadServiceTags(db, request.params.serviceName, -1);
        if (answer.status !== 200) throw new Error("a download from version -1 always answers the document");
        const {
          op: _op,
          isDelta: _delta,
          ...rest
        } = answer.body as typeof answer.body & { op?: string; isDelta?: boolean };
        return { op: "set", ...rest } as never;
      },
    );
  };
}
