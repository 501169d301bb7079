import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { fieldError, MemberNotFound } from "../../errors.ts";
import type { Db } from "../../storage/db.ts";
import {
  Answer,
  AnyObject,
  intOf,
  NumParams,
  orgOf,
  PageQuery,
  pageOf,
  read,
  tags,
  write,
  XUSERS,
} from "./xusers.http.ts";
import { type GroupUserRow, presentVXGroup, presentVXGroupUser, vList } from "./xusers.model.ts";
import type { RangerGroupUserInput } from "./xusers.service.ts";
import { createRangerGroupUser, deleteRangerGroupUser, updateRangerGroupUser } from "./xusers.service.ts";
import { effectiveMembers, findGroup, findGroupUser, searchGroupUsers } from "./xusers.store.ts";

const NameParams = Type.Object({ groupName: Type.String({ minLength: 1, maxLength: 255 }) });

function groupUserInput(raw: unknown): RangerGroupUserInput {
  const body = (raw ?? {}) as Record<string, unknown>;
  return {
    id: intOf(body.id),
    name: typeof body.name === "string" ? body.name : null,
    userId: intOf(body.userId),
  };
}

/**
 * Ranger's group-user routes (`/service/xusers/groupusers`): direct memberships with their own
 * ids (search by `xUserId`/`xGroupId`, get, create as an upsert, update, delete), and a group's
 * members by group name (`VXGroupUserInfo`), where a Gatehouse group lists its effective members.
 */
export function xgroupUserRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const present = async (orgId: string, num: number) =>
      presentVXGroupUser((await findGroupUser(db.kysely, orgId, num)) as GroupUserRow);

    app.get(
      `${XUSERS}/groupusers`,
      {
        config: read,
        schema: {
          tags,
          summary: "Search group-users (Ranger VXGroupUserList)",
          description: "Direct memberships, ordered by id; filters `xUserId` and `xGroupId` (user and group ids).",
          querystring: PageQuery,
          response: { 200: Answer("VXGroupUserList") },
        },
      },
      async (request) => {
        const started = Date.now();
        const q = request.query as Record<string, unknown>;
        const page = { ...pageOf(request.query), sortBy: "id" };
        const orgId = await orgOf(db.kysely, request);
        const { rows, total } = await searchGroupUsers(
          db.kysely,
          orgId,
          { xUserId: intOf(q.xUserId), xGroupId: intOf(q.xGroupId) },
          page,
        );
        return vList("vXGroupUsers", rows.map(presentVXGroupUser), total, page, started);
      },
    );

    app.get(
      `${XUSERS}/groupusers/count`,
      {
        config: read,
        schema: { tags, summary: "Count group-users (Ranger VXLong)", response: { 200: Answer("VXLong") } },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const { total } = await searchGroupUsers(db.kysely, orgId, {}, pageOf({ pageSize: 1 }));
        return { value: total };
      },
    );

    app.get(
      `${XUSERS}/groupusers/:id`,
      {
        config: read,
        schema: {
          tags,
          summary: "Get a group-user by id (Ranger VXGroupUser)",
          params: NumParams,
          response: { 200: Answer("VXGroupUser") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const found = await findGroupUser(db.kysely, orgId, request.params.id);
        if (!found) throw fieldError(MemberNotFound, "path.id", "exists", `group user ${request.params.id} not found`);
        return presentVXGroupUser(found);
      },
    );

    app.get(
      `${XUSERS}/groupusers/groupName/:groupName`,
      {
        config: read,
        schema: {
          tags,
          summary: "A group and its members (Ranger VXGroupUserInfo)",
          description:
            "`xgroupInfo` and `xuserInfo` (name and id of each effective member); an unknown group answers `{}`, as Ranger.",
          params: NameParams,
          response: { 200: Answer("VXGroupUserInfo") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const group = await findGroup(db.kysely, orgId, { name: request.params.groupName });
        if (!group) return {};
        const members = await effectiveMembers(db.kysely, group.id);
        return {
          xgroupInfo: presentVXGroup(group),
          xuserInfo: members.map((m) => ({ id: m.num, name: m.username, userRoleList: ["ROLE_USER"] })),
        };
      },
    );

    app.post(
      `${XUSERS}/groupusers`,
      {
        config: write,
        schema: {
          tags,
          summary: "Add a user to a group (Ranger VXGroupUser; an existing membership is kept)",
          body: AnyObject("VXGroupUser"),
          response: { 200: Answer("VXGroupUser") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const num = await db.transaction((tx) => createRangerGroupUser(tx, ctx, orgId, groupUserInput(request.body)));
        return present(orgId, num);
      },
    );

    app.put(
      `${XUSERS}/groupusers`,
      {
        config: write,
        schema: {
          tags,
          summary: "Update a group-user (Ranger VXGroupUser)",
          description: "Membership `id` becomes the membership of user `userId` in group `name`.",
          body: AnyObject("VXGroupUser"),
          response: { 200: Answer("VXGroupUser") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const num = await db.transaction((tx) => updateRangerGroupUser(tx, ctx, orgId, groupUserInput(request.body)));
        return present(orgId, num);
      },
    );

    app.delete(
      `${XUSERS}/groupusers/:id`,
      {
        config: write,
        schema: { tags, summary: "Remove a group-user (Ranger)", params: NumParams, response: { 204: Type.Null() } },
      },
      async (request, reply) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        await db.transaction((tx) => deleteRangerGroupUser(tx, ctx, orgId, request.params.id));
        return reply.code(204).send(null);
      },
    );
  };
}
