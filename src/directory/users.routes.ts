import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import { BoundedTotalPage, IdParams, Page, PageQuery } from "../http/schemas.ts";
import { TotalQuery } from "../http/totals.ts";
import type { Db } from "../storage/db.ts";
import {
  CreateUserBody,
  EffectiveQuery,
  HeldRoleSchema,
  OrgQuery,
  PolicyForceQuery,
  UpdateUserBody,
  User,
  UserGroup,
  UserListQuery,
} from "./directory.schemas.ts";
import { groupsOfUser, pageArray, rolesOfUser } from "./effective.ts";
import { listUsers } from "./lists.ts";
import { assertSameOrg, resolveOrgId } from "./org-scope.ts";
import { presentGroup, presentUser } from "./present.ts";
import { createUser, deleteUser, getUserRow, updateUser } from "./users.service.ts";

/** `/v1/users`: users, their groups and their roles. */
export function userRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const userIn = async (actor: Parameters<typeof assertSameOrg>[0], id: string) => {
      const row = await getUserRow(db.kysely, id);
      assertSameOrg(actor, row.org_id);
      return row;
    };

    app.post(
      "/v1/users",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Create a user",
          description:
            "Usernames are unique per organisation, compared case-insensitively (409 `USERNAME_TAKEN` with `meta.existingId`).",
          body: CreateUserBody,
          response: { 201: User },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, request.body.orgId);
        const user = await db.transaction((tx) => createUser(tx, auditContextOf(request), { ...request.body, orgId }));
        return reply.code(201).header("location", `/v1/users/${user.id}`).send(user);
      },
    );

    app.get(
      "/v1/users",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List and search users",
          description:
            "Ordered by username. `prefix`/`q` match the username (`q` also display name and email) case-insensitively.",
          querystring: Type.Intersect([PageQuery, TotalQuery, OrgQuery, UserListQuery]),
          response: { 200: BoundedTotalPage(User, "UserPage") },
        },
      },
      async (request) => {
        const q = request.query;
        const orgId = await resolveOrgId(db.kysely, request.actor, q.orgId);
        const result = await listUsers(db.kysely, orgId, q, q.limit, q.cursor);
        return { ...result, items: result.items.map(presentUser) };
      },
    );

    app.get(
      "/v1/users/:id",
      {
        config: { ability: "directory.read" },
        schema: { tags: ["directory"], summary: "Get a user", params: IdParams, response: { 200: User } },
      },
      async (request) => presentUser(await userIn(request.actor, request.params.id)),
    );

    app.patch(
      "/v1/users/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Update a user",
          params: IdParams,
          body: UpdateUserBody,
          response: { 200: User },
        },
      },
      async (request) => {
        await userIn(request.actor, request.params.id);
        return db.transaction((tx) => updateUser(tx, auditContextOf(request), request.params.id, request.body));
      },
    );

    app.delete(
      "/v1/users/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Delete a user",
          description:
            "Removes the user's memberships and role bindings too, each removal audited. 409 `PRINCIPAL_IN_POLICIES` listing the policies that name the user, unless `force=true`, which removes the user from them (Ranger's forceDelete).",
          params: IdParams,
          querystring: PolicyForceQuery,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await userIn(request.actor, request.params.id);
        await db.transaction((tx) => deleteUser(tx, auditContextOf(request), request.params.id, request.query.force));
        return reply.code(204).send(null);
      },
    );

    app.get(
      "/v1/users/:id/groups",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List a user's groups",
          description: "With `effective=true` (default) also every ancestor of the user's groups; ordered by name.",
          params: IdParams,
          querystring: Type.Intersect([PageQuery, EffectiveQuery]),
          response: { 200: Page(UserGroup, "UserGroupPage") },
        },
      },
      async (request) => {
        const q = request.query;
        // One query on the hot path: the user is looked up only when the caller is bound to an
        // organisation (to check it) or when the answer is empty (to tell "no groups" from 404).
        if (request.actor.orgId) await userIn(request.actor, request.params.id);
        const result = await groupsOfUser(db.kysely, request.params.id, {
          effective: q.effective,
          limit: q.limit,
          cursor: q.cursor,
        });
        if (result.items.length === 0 && !request.actor.orgId) await userIn(request.actor, request.params.id);
        return {
          ...result,
          items: result.items.map(({ direct, role, ...group }) => ({ group: presentGroup(group), direct, role })),
        };
      },
    );

    app.get(
      "/v1/users/:id/roles",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List a user's roles",
          description:
            "Direct bindings, or with `effective=true` (default) also bindings of every effective group and the roles composite roles bundle. Each item says how it reaches the user.",
          params: IdParams,
          querystring: Type.Intersect([PageQuery, EffectiveQuery]),
          response: { 200: Page(HeldRoleSchema, "HeldRolePage") },
        },
      },
      async (request) => {
        await userIn(request.actor, request.params.id);
        const held = await rolesOfUser(db.kysely, request.params.id, request.query.effective);
        const result = pageArray(held, request.query.limit, request.query.cursor);
        return {
          ...result,
          items: result.items.map((h) => ({
            roleId: h.roleId,
            roleName: h.roleName,
            builtin: h.builtin,
            permissions: h.permissions,
            bindingId: h.bindingId,
            scope: { type: h.scopeType, value: h.scope },
            allowAllObjects: h.allowAllObjects,
            via: { principal: { type: h.viaPrincipalType, id: h.viaPrincipalId }, roleId: h.viaRoleId },
          })),
        };
      },
    );
  };
}
