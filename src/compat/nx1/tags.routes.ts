import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { TAG_SERVICE } from "../../service-defs/builtin.ts";
import type { Db } from "../../storage/db.ts";
import { fastApiValidationShape } from "./errors.ts";
import { nx1Service } from "./policies.routes.ts";
import { EXTENSION_NOTE, errorResponses, HTTPValidationError, NX1_SECURITY } from "./schemas.ts";
import { associate, dissociate, listAssociations } from "./tag-roles.ts";

const TAGS = ["Data Access"];
const Name = (title: string) => Type.String({ minLength: 1, maxLength: 255, pattern: "^[^\\u0000-\\u001f/]+$", title });
const Association = Type.Object(
  {
    tag: Type.String({ title: "Tag" }),
    role: Type.String({ title: "Role" }),
    is_readonly: Type.Boolean({ title: "Is Readonly" }),
    id: Type.Union([Type.String({ format: "uuid" }), Type.Null()], { title: "Id" }),
  },
  { title: "TagRoleAssociation" },
);
const errors = { ...errorResponses(400, 404, 503), 422: HTTPValidationError };

/**
 * Nx1's tag ↔ role associations (`/api/metastore/tags/{tag}/roles/...`): each one is a tag-based
 * policy in the `tags` service granting the role read or read-write access, in the component of
 * the Nx1 service, to data that carries the tag.
 */
export function nx1TagRoutes(db: Db, serviceName: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/metastore/tags/:tag/roles/:role/associate",
      {
        config: { ability: "policy.write", errorShape: fastApiValidationShape },
        schema: {
          tags: TAGS,
          summary: "Associate a role with a tag",
          operationId: "associate_tag_role_api_metastore_tags__tag__roles__role__associate_post",
          description:
            "Nx1-compatible. The role gets `select` (readonly=true) or read-write access to data carrying the tag, through a tag-based policy. Associating again changes the access level.",
          security: NX1_SECURITY,
          params: Type.Object({ tag: Name("Tag"), role: Name("Role") }),
          querystring: Type.Object({ readonly: Type.Boolean({ title: "Readonly" }) }),
          response: { 200: Association, ...errors },
        },
      },
      async (request) => {
        const { tag, role } = request.params;
        return db.transaction(async (tx) => {
          const tags = await nx1Service(tx, TAG_SERVICE);
          const component = await nx1Service(tx, serviceName);
          return associate(tx, auditContextOf(request), tags, component.def, tag, role, request.query.readonly);
        });
      },
    );
    app.get(
      "/api/metastore/tags/:tag/roles",
      {
        config: { ability: "policy.read", errorShape: fastApiValidationShape },
        schema: {
          tags: TAGS,
          summary: "List the roles associated with a tag",
          operationId: "list_tag_roles_api_metastore_tags__tag__roles_get",
          description: EXTENSION_NOTE,
          security: NX1_SECURITY,
          params: Type.Object({ tag: Name("Tag") }),
          response: { 200: Type.Array(Association), ...errors },
        },
      },
      async (request) => listAssociations(db.kysely, request.params.tag),
    );
    app.get(
      "/api/metastore/tags/roles",
      {
        config: { ability: "policy.read", errorShape: fastApiValidationShape },
        schema: {
          tags: TAGS,
          summary: "List every tag-role association",
          operationId: "list_all_tag_roles_api_metastore_tags_roles_get",
          description: EXTENSION_NOTE,
          security: NX1_SECURITY,
          response: { 200: Type.Array(Association), ...errors },
        },
      },
      async () => listAssociations(db.kysely),
    );
    app.delete(
      "/api/metastore/tags/:tag/roles/:role",
      {
        config: { ability: "policy.write", errorShape: fastApiValidationShape },
        schema: {
          tags: TAGS,
          summary: "Remove a tag-role association",
          operationId: "dissociate_tag_role_api_metastore_tags__tag__roles__role__delete",
          description: `${EXTENSION_NOTE} Deletes the association and its tag-based policy; 404 when absent.`,
          security: NX1_SECURITY,
          params: Type.Object({ tag: Name("Tag"), role: Name("Role") }),
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (request, reply) => {
        await db.transaction(async (tx) => {
          const tags = await nx1Service(tx, TAG_SERVICE);
          const component = await nx1Service(tx, serviceName);
          await dissociate(tx, auditContextOf(request), tags, component.def, request.params.tag, request.params.role);
        });
        return reply.code(204).send(null);
      },
    );
  };
}
