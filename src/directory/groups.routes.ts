import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import type { Actor } from "../auth/actor.ts";
import { BoundedTotalPage, IdParams, Page, PageQuery } from "../http/schemas.ts";
import { TotalQuery } from "../http/totals.ts";
import type { Db } from "../storage/db.ts";
import {
  BatchBody,
  BatchResultSchema,
  CreateGroupBody,
  EffectiveQuery,
  ForceQuery,
  Group,
  GroupListQuery,
  Member,
  MemberRoleSchema,
  Membership,
  OrgQuery,
  UpdateGroupBody,
  UserGroupParams,
} from "./directory.schemas.ts";
import { membersOfGroup } from "./effective.ts";
import { createGroup, deleteGroup, getGroupRow, updateGroup } from "./groups.service.ts";
import { listGroups } from "./lists.ts";
import { batchMembers, putMember, removeMember } from "./members.service.ts";
import { assertSameOrg, resolveOrgId } from "./org-scope.ts";
import { presentGroup, presentUser } from "./present.ts";

/** `/v1/groups`: groups, their hierarchy and their members. */
export function groupRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const groupIn = async (actor: Actor, id: string) => {
      const row = await getGroupRow(db.kysely, id);
      assertSameOrg(actor, row.org_id);
      return row;
    };

    app.post(
      "/v1/groups",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Create a group",
          description:
            "Checks the name rules and the organisation's pattern, metadata against the metaschema (422 naming the path), the parent and depth, and for a group bound to an LDAP identity source that the DN exists (422 `DIRECTORY_GROUP_NOT_FOUND`, nothing written). A name conflict is 409 `GROUP_NAME_TAKEN` with `meta.existingId`.",
          body: CreateGroupBody,
          response: { 201: Group },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, request.body.orgId);
        const group = await createGroup(db.kysely, auditContextOf(request), { ...request.body, orgId });
        return reply.code(201).header("location", `/v1/groups/${group.id}`).send(group);
      },
    );

    app.get(
      "/v1/groups",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List and search groups",
          description:
            "Ordered by name; filters by name prefix or substring (case-insensitive), source, parent (`root` for top level) and metadata `key:value`.",
          querystring: Type.Intersect([PageQuery, TotalQuery, OrgQuery, GroupListQuery]),
          response: { 200: BoundedTotalPage(Group, "GroupPage") },
        },
      },
      async (request) => {
        const q = request.query;
        const orgId = await resolveOrgId(db.kysely, request.actor, q.orgId);
        const result = await listGroups(db.kysely, orgId, q, q.limit, q.cursor);
        return { ...result, items: result.items.map(presentGroup) };
      },
    );

    app.get(
      "/v1/groups/:id",
      {
        config: { ability: "directory.read" },
        schema: { tags: ["directory"], summary: "Get a group", params: IdParams, response: { 200: Group } },
      },
      async (request) => presentGroup(await groupIn(request.actor, request.params.id)),
    );

    app.patch(
      "/v1/groups/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Update or move a group",
          description:
            "A new `parentId` moves the subtree (409 `GROUP_HIERARCHY_CYCLE` for a cycle, 422 `GROUP_DEPTH_EXCEEDED` past the limit).",
          params: IdParams,
          body: UpdateGroupBody,
          response: { 200: Group },
        },
      },
      async (request) => {
        await groupIn(request.actor, request.params.id);
        return db.transaction((tx) => updateGroup(tx, auditContextOf(request), request.params.id, request.body));
      },
    );

    app.delete(
      "/v1/groups/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Delete a group",
          description:
            "409 `GROUP_NOT_EMPTY` when it has children or members, and 409 `PRINCIPAL_IN_POLICIES` listing the policies that name it (or a subgroup), unless `force=true`, which removes them (each removal audited) and removes the groups from those policies (each a new policy version; Ranger's forceDelete).",
          params: IdParams,
          querystring: ForceQuery,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await groupIn(request.actor, request.params.id);
        await db.transaction((tx) => deleteGroup(tx, auditContextOf(request), request.params.id, request.query.force));
        return reply.code(204).send(null);
      },
    );

    app.get(
      "/v1/groups/:id/children",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List a group's children",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: Page(Group, "GroupChildrenPage") },
        },
      },
      async (request) => {
        const group = await groupIn(request.actor, request.params.id);
        const q = request.query;
        const result = await listGroups(db.kysely, group.org_id, { parentId: group.id }, q.limit, q.cursor);
        return { ...result, items: result.items.map(presentGroup) };
      },
    );

    app.get(
      "/v1/groups/:id/members",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List a group's members",
          description:
            "Direct members, or with `effective=true` (default) also members of every subgroup, each user once. Ordered by user id.",
          params: IdParams,
          querystring: Type.Intersect([
            PageQuery,
            EffectiveQuery,
            Type.Object({ usernamePrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
          ]),
          response: { 200: Page(Member, "MemberPage") },
        },
      },
      async (request) => {
        await groupIn(request.actor, request.params.id);
        const q = request.query;
        const result = await membersOfGroup(db.kysely, request.params.id, {
          effective: q.effective,
          limit: q.limit,
          cursor: q.cursor,
          usernamePrefix: q.usernamePrefix,
        });
        return {
          ...result,
          items: result.items.map(({ direct, role, ...user }) => ({ user: presentUser(user), direct, role })),
        };
      },
    );

    app.put(
      "/v1/groups/:id/members/:userId",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Add a member or change its role",
          description:
            "201 when added, 200 when the role changed or was already so. Demoting the last owner is 409 `GROUP_LAST_OWNER`.",
          params: UserGroupParams,
          body: Type.Object({ role: Type.Optional(MemberRoleSchema) }, { additionalProperties: false }),
          response: { 200: Membership, 201: Membership },
        },
        // The body is optional: no body means `{"role": "member"}`.
        preValidation: async (request) => {
          request.body ??= {};
        },
      },
      async (request, reply) => {
        await groupIn(request.actor, request.params.id);
        const { membership, created } = await db.transaction((tx) =>
          putMember(
            tx,
            auditContextOf(request),
            request.params.id,
            request.params.userId,
            request.body.role ?? "member",
          ),
        );
        return reply.code(created ? 201 : 200).send(membership);
      },
    );

    app.delete(
      "/v1/groups/:id/members/:userId",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Remove a member",
          description: "Removing the last owner is 409 `GROUP_LAST_OWNER`.",
          params: UserGroupParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await groupIn(request.actor, request.params.id);
        await db.transaction((tx) =>
          removeMember(tx, auditContextOf(request), request.params.id, request.params.userId),
        );
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/v1/groups/:id/members::batch",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Add and remove many members at once",
          description:
            "Up to 10,000 user ids in each of `add` and `remove`, applied in one transaction: all or nothing.",
          params: IdParams,
          body: BatchBody,
          response: { 200: BatchResultSchema },
        },
      },
      async (request) => {
        await groupIn(request.actor, request.params.id);
        return db.transaction((tx) => batchMembers(tx, auditContextOf(request), request.params.id, request.body));
      },
    );
  };
}
