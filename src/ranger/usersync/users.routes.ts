import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { fieldError, UserNotFound, ValidationFailed } from "../../errors.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import {
  Answer,
  AnyObject,
  ForceQuery,
  intOf,
  isForced,
  NumParams,
  orgOf,
  PageQuery,
  pageOf,
  read,
  tags,
  textOf,
  userInput,
  write,
  XUSERS,
} from "./xusers.http.ts";
import { presentVXUser, type UserWithGroups, vList } from "./xusers.model.ts";
import {
  createRangerUser,
  deleteRangerUser,
  isValidName,
  requireUser,
  updateRangerUser,
  upsertRangerUser,
} from "./xusers.service.ts";
import { findUser, searchUsers } from "./xusers.store.ts";

const NameParams = Type.Object({ userName: Type.String({ minLength: 1, maxLength: 255 }) });

/**
 * Ranger's user routes (`/service/xusers/users`, `/secure/users`): search with Ranger's paging and
 * filters, get by id or name, the secure create (400 "already exists" for a taken name) and the
 * plain one (create or update by name), update by id, and delete with Ranger's `forceDelete` rule.
 */
export function xuserRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const present = async (orgId: string, id: string) =>
      presentVXUser((await findUser(db.kysely, orgId, { id })) as UserWithGroups);
    const byNum = async (request: FastifyRequest, num: number) => {
      const orgId = await orgOf(db.kysely, request);
      const user = await findUser(db.kysely, orgId, { num });
      if (!user) throw fieldError(UserNotFound, "path.id", "exists", `user ${num} not found`);
      return presentVXUser(user);
    };

    for (const url of [`${XUSERS}/users`, `${XUSERS}/users/`]) {
      app.get(
        url,
        {
          config: read,
          schema: {
            tags,
            summary: "Search users (Ranger VXUserList)",
            description:
              "Filters: `name` (case-insensitive substring; an exact match comes first), `emailAddress`, `isVisible`, `status`, `userSource`, `syncSource`. Groups are effective (nested groups included).",
            querystring: PageQuery,
            response: { 200: Answer("VXUserList") },
          },
        },
        async (request) => {
          const started = Date.now();
          const q = request.query as Record<string, unknown>;
          const page = pageOf(request.query);
          const orgId = await orgOf(db.kysely, request);
          const { rows, total } = await searchUsers(
            db.kysely,
            orgId,
            {
              name: textOf(q.name),
              emailAddress: textOf(q.emailAddress),
              isVisible: intOf(q.isVisible),
              status: intOf(q.status),
              userSource: intOf(q.userSource),
              syncSource: textOf(q.syncSource),
            },
            page,
          );
          return vList("vXUsers", rows.map(presentVXUser), total, page, started);
        },
      );
    }

    app.get(
      `${XUSERS}/users/count`,
      { config: read, schema: { tags, summary: "Count users (Ranger VXLong)", response: { 200: Answer("VXLong") } } },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const { total } = await searchUsers(db.kysely, orgId, {}, pageOf({ pageSize: 1 }));
        return { value: total };
      },
    );

    for (const url of [`${XUSERS}/users/:id`, `${XUSERS}/secure/users/:id`]) {
      app.get(
        url,
        {
          config: read,
          schema: {
            tags,
            summary: "Get a user by id (Ranger VXUser)",
            params: NumParams,
            response: { 200: Answer("VXUser") },
          },
        },
        async (request) => byNum(request, request.params.id),
      );
    }

    app.get(
      `${XUSERS}/users/userName/:userName`,
      {
        config: read,
        schema: {
          tags,
          summary: "Get a user by name (Ranger VXUser)",
          params: NameParams,
          response: { 200: Answer("VXUser") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const user = await findUser(db.kysely, orgId, { name: request.params.userName });
        if (!user) throw fieldError(UserNotFound, "path.userName", "exists", `${request.params.userName} is Not Found`);
        return presentVXUser(user);
      },
    );

    app.post(
      `${XUSERS}/secure/users`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create a user (Ranger secure create)",
          description: "An existing name (compared case-insensitively) is a 400 `... already exists`.",
          body: AnyObject("VXUser"),
          response: { 200: Answer("VXUser") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const id = await db.transaction((tx) => createRangerUser(tx, ctx, orgId, userInput(request.body), "local"));
        return present(orgId, id);
      },
    );

    app.post(
      `${XUSERS}/users`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create or update a user by name (Ranger plain create)",
          body: AnyObject("VXUser"),
          response: { 200: Answer("VXUser") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const body = userInput(request.body);
        const name = body.name;
        if (!isValidName(name)) {
          throw fieldError(ValidationFailed, "body.name", "required", "Please provide a valid username.");
        }
        const id = await db.transaction(async (tx) =>
          upsertRangerUser(tx, ctx, orgId, { ...body, name }, "local", await findUser(tx, orgId, { name })),
        );
        return present(orgId, id);
      },
    );

    app.put(
      `${XUSERS}/secure/users/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Update a user (Ranger)",
          description: "The name cannot change (400). Absent fields are left as they are.",
          params: NumParams,
          body: AnyObject("VXUser"),
          response: { 200: Answer("VXUser") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const id = await db.transaction((tx) =>
          updateRangerUser(tx, ctx, orgId, request.params.id, userInput(request.body)),
        );
        return present(orgId, id);
      },
    );

    app.put(
      `${XUSERS}/users`,
      {
        config: write,
        schema: {
          tags,
          summary: "Update a user named by its body's id (Ranger)",
          body: AnyObject("VXUser"),
          response: { 200: Answer("VXUser") },
        },
      },
      async (request) => {
        const num = intOf((request.body as Record<string, unknown>).id);
        if (num === undefined) throw fieldError(ValidationFailed, "body.id", "required", "is required");
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const id = await db.transaction((tx) => updateRangerUser(tx, ctx, orgId, num, userInput(request.body)));
        return present(orgId, id);
      },
    );

    const remove = async (
      request: FastifyRequest,
      find: (tx: Queryable, orgId: string) => Promise<UserWithGroups>,
      force: boolean,
    ) => {
      const orgId = await orgOf(db.kysely, request);
      const ctx = auditContextOf(request);
      await db.transaction(async (tx) => deleteRangerUser(tx, ctx, await find(tx, orgId), force));
    };
    for (const url of [`${XUSERS}/users/:id`, `${XUSERS}/secure/users/id/:id`]) {
      app.delete(
        url,
        {
          config: write,
          schema: {
            tags,
            summary: "Delete a user (Ranger forceDelete rule)",
            description:
              "A user bound to a role is never deleted (400). Without `forceDelete=true` a user still in a group or named by a policy is hidden (`isVisible` 0) instead.",
            params: NumParams,
            querystring: ForceQuery,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          const num = request.params.id;
          await remove(
            request,
            async (tx, orgId) => (await requireUser(tx, orgId, num)) as UserWithGroups,
            isForced(request.query),
          );
          return reply.code(204).send(null);
        },
      );
    }
    for (const url of [`${XUSERS}/users/userName/:userName`, `${XUSERS}/secure/users/:userName`]) {
      app.delete(
        url,
        {
          config: write,
          schema: {
            tags,
            summary: "Delete a user by name (Ranger forceDelete rule)",
            params: NameParams,
            querystring: ForceQuery,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          const name = request.params.userName;
          await remove(
            request,
            async (tx, orgId) => {
              const user = await findUser(tx, orgId, { name });
              if (!user) throw fieldError(UserNotFound, "path.userName", "exists", `${name} is Not Found`);
              return user;
            },
            isForced(request.query),
          );
          return reply.code(204).send(null);
        },
      );
    }
  };
}
