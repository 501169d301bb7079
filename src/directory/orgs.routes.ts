import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import { IdParams, Page, PageQuery } from "../http/schemas.ts";
import type { Db } from "../storage/db.ts";
import { CreateOrgBody, Metaschema, Org, UpdateOrgBody } from "./directory.schemas.ts";
import { listOrgs } from "./lists.ts";
import { groupMetaschemaOf } from "./metaschema.ts";
import { assertSameOrg } from "./org-scope.ts";
import { createOrg, getOrgRow, setGroupMetaschema, updateOrg } from "./orgs.service.ts";
import { presentOrg } from "./present.ts";

/** `/v1/orgs` and the group metaschema of each organisation. */
export function orgRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/v1/orgs",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Create an organisation",
          description:
            "Names are unique case-insensitively. A conflict is 409 `ORG_NAME_TAKEN` with `meta.existingId`.",
          body: CreateOrgBody,
          response: { 201: Org },
        },
      },
      async (request, reply) => {
        const org = await db.transaction((tx) => createOrg(tx, auditContextOf(request), request.body));
        return reply.code(201).header("location", `/v1/orgs/${org.id}`).send(org);
      },
    );

    app.get(
      "/v1/orgs",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List organisations",
          querystring: PageQuery,
          response: { 200: Page(Org, "OrgPage") },
        },
      },
      async (request) => {
        const result = await listOrgs(db.kysely, request.query.limit, request.query.cursor);
        const visible = request.actor.orgId ? result.items.filter((o) => o.id === request.actor.orgId) : result.items;
        return {
          ...result,
          items: visible.map(presentOrg),
          total: request.actor.orgId ? visible.length : result.total,
        };
      },
    );

    app.get(
      "/v1/orgs/:id",
      {
        config: { ability: "directory.read" },
        schema: { tags: ["directory"], summary: "Get an organisation", params: IdParams, response: { 200: Org } },
      },
      async (request) => {
        assertSameOrg(request.actor, request.params.id);
        return presentOrg(await getOrgRow(db.kysely, request.params.id));
      },
    );

    app.patch(
      "/v1/orgs/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Update an organisation",
          description:
            "Title, metadata and group rules (name pattern, maximum depth). Existing groups are not re-checked.",
          params: IdParams,
          body: UpdateOrgBody,
          response: { 200: Org },
        },
      },
      async (request) => {
        assertSameOrg(request.actor, request.params.id);
        return db.transaction((tx) => updateOrg(tx, auditContextOf(request), request.params.id, request.body));
      },
    );

    app.get(
      "/v1/orgs/:id/metaschemas/group",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "Get the group metaschema",
          description:
            "The JSON Schema (2020-12) group metadata must satisfy; the default allows `labels` (string map) and `description`.",
          params: IdParams,
          response: { 200: Metaschema },
        },
      },
      async (request) => {
        assertSameOrg(request.actor, request.params.id);
        await getOrgRow(db.kysely, request.params.id);
        return groupMetaschemaOf(db.kysely, request.params.id);
      },
    );

    app.put(
      "/v1/orgs/:id/metaschemas/group",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Replace the group metaschema",
          description:
            "Must compile as JSON Schema 2020-12 (422 `METASCHEMA_INVALID` otherwise). Applies to later writes.",
          params: IdParams,
          body: Metaschema,
          response: { 200: Metaschema },
        },
      },
      async (request) => {
        assertSameOrg(request.actor, request.params.id);
        return db.transaction((tx) => setGroupMetaschema(tx, auditContextOf(request), request.params.id, request.body));
      },
    );
  };
}
