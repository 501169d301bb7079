import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { fieldError, GroupNotFound, ValidationFailed } from "../../errors.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import type { GroupRow } from "../../storage/schema.ts";
import {
  Answer,
  AnyObject,
  ForceQuery,
  groupInput,
  intOf,
  isForced,
  NumParams,
  orgOf,
  PageQuery,
  pageOf,
  read,
  tags,
  textOf,
  write,
  XUSERS,
} from "./xusers.http.ts";
import { presentVXGroup, vList } from "./xusers.model.ts";
import {
  createRangerGroup,
  deleteRangerGroup,
  isValidName,
  requireGroup,
  updateRangerGroup,
  upsertRangerGroup,
} from "./xusers.service.ts";
import { findGroup, searchGroups } from "./xusers.store.ts";

const NameParams = Type.Object({ groupName: Type.String({ minLength: 1, maxLength: 255 }) });

/**
 * Ranger's group routes (`/service/xusers/groups`, `/secure/groups`): search, get by id or name,
 * the secure create (400 "XGroup already exists") and the plain one (create or update by name),
 * update by id, and delete with Ranger's `forceDelete` rule.
 */
export function xgroupRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const present = async (orgId: string, id: string) =>
      presentVXGroup((await findGroup(db.kysely, orgId, { id })) as GroupRow);

    for (const url of [`${XUSERS}/groups`, `${XUSERS}/groups/`]) {
      app.get(
        url,
        {
          config: read,
          schema: {
            tags,
            summary: "Search groups (Ranger VXGroupList)",
            description:
              "Filters: `name` (case-insensitive substring; an exact match comes first), `isVisible`, `groupSource`, `syncSource`, `userId` (the groups of that user, nested groups included).",
            querystring: PageQuery,
            response: { 200: Answer("VXGroupList") },
          },
        },
        async (request) => {
          const started = Date.now();
          const q = request.query as Record<string, unknown>;
          const page = pageOf(request.query);
          const orgId = await orgOf(db.kysely, request);
          const { rows, total } = await searchGroups(
            db.kysely,
            orgId,
            {
              name: textOf(q.name),
              isVisible: intOf(q.isVisible),
              groupSource: intOf(q.groupSource),
              syncSource: textOf(q.syncSource),
              userId: intOf(q.userId),
            },
            page,
          );
          return vList("vXGroups", rows.map(presentVXGroup), total, page, started);
        },
      );
    }

    app.get(
      `${XUSERS}/groups/count`,
      { config: read, schema: { tags, summary: "Count groups (Ranger VXLong)", response: { 200: Answer("VXLong") } } },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const { total } = await searchGroups(db.kysely, orgId, {}, pageOf({ pageSize: 1 }));
        return { value: total };
      },
    );

    for (const url of [`${XUSERS}/groups/:id`, `${XUSERS}/secure/groups/:id`]) {
      app.get(
        url,
        {
          config: read,
          schema: {
            tags,
            summary: "Get a group by id (Ranger VXGroup)",
            params: NumParams,
            response: { 200: Answer("VXGroup") },
          },
        },
        async (request) => {
          const orgId = await orgOf(db.kysely, request);
          return presentVXGroup(await requireGroup(db.kysely, orgId, request.params.id));
        },
      );
    }

    app.get(
      `${XUSERS}/groups/groupName/:groupName`,
      {
        config: read,
        schema: {
          tags,
          summary: "Get a group by name (Ranger VXGroup)",
          params: NameParams,
          response: { 200: Answer("VXGroup") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const group = await findGroup(db.kysely, orgId, { name: request.params.groupName });
        if (!group) {
          throw fieldError(GroupNotFound, "path.groupName", "exists", `${request.params.groupName} is Not Found`);
        }
        return presentVXGroup(group);
      },
    );

    app.post(
      `${XUSERS}/secure/groups`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create a group (Ranger secure create)",
          description: "An existing name (compared case-insensitively) is a 400 `XGroup already exists`.",
          body: AnyObject("VXGroup"),
          response: { 200: Answer("VXGroup") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const id = await db.transaction((tx) => createRangerGroup(tx, ctx, orgId, groupInput(request.body), "local"));
        return present(orgId, id);
      },
    );

    app.post(
      `${XUSERS}/groups`,
      {
        config: write,
        schema: {
          tags,
          summary: "Create or update a group by name (Ranger plain create)",
          body: AnyObject("VXGroup"),
          response: { 200: Answer("VXGroup") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const body = groupInput(request.body);
        const name = body.name;
        if (!isValidName(name)) {
          throw fieldError(ValidationFailed, "body.name", "required", "Please provide a valid group name.");
        }
        const id = await db.transaction(async (tx) =>
          upsertRangerGroup(tx, ctx, orgId, { ...body, name }, "local", await findGroup(tx, orgId, { name })),
        );
        return present(orgId, id);
      },
    );

    app.put(
      `${XUSERS}/secure/groups/:id`,
      {
        config: write,
        schema: {
          tags,
          summary: "Update a group (Ranger)",
          description: "The name cannot change (400 `group name updates are not allowed.`).",
          params: NumParams,
          body: AnyObject("VXGroup"),
          response: { 200: Answer("VXGroup") },
        },
      },
      async (request) => {
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const id = await db.transaction((tx) =>
          updateRangerGroup(tx, ctx, orgId, request.params.id, groupInput(request.body)),
        );
        return present(orgId, id);
      },
    );

    app.put(
      `${XUSERS}/groups`,
      {
        config: write,
        schema: {
          tags,
          summary: "Update a group named by its body's id (Ranger)",
          body: AnyObject("VXGroup"),
          response: { 200: Answer("VXGroup") },
        },
      },
      async (request) => {
        const num = intOf((request.body as Record<string, unknown>).id);
        if (num === undefined) throw fieldError(ValidationFailed, "body.id", "required", "is required");
        const orgId = await orgOf(db.kysely, request);
        const ctx = auditContextOf(request);
        const id = await db.transaction((tx) => updateRangerGroup(tx, ctx, orgId, num, groupInput(request.body)));
        return present(orgId, id);
      },
    );

    const remove = async (
      request: FastifyRequest,
      find: (tx: Queryable, orgId: string) => Promise<GroupRow>,
      force: boolean,
    ) => {
      const orgId = await orgOf(db.kysely, request);
      const ctx = auditContextOf(request);
      await db.transaction(async (tx) => deleteRangerGroup(tx, ctx, await find(tx, orgId), force));
    };
    for (const url of [`${XUSERS}/groups/:id`, `${XUSERS}/secure/groups/id/:id`]) {
      app.delete(
        url,
        {
          config: write,
          schema: {
            tags,
            summary: "Delete a group (Ranger forceDelete rule)",
            description:
              "A group bound to a role is never deleted (400). Without `forceDelete=true` a group with members, subgroups or policies naming it is hidden (`isVisible` 0) instead; a group with subgroups is never deleted here (409).",
            params: NumParams,
            querystring: ForceQuery,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          const num = request.params.id;
          await remove(request, (tx, orgId) => requireGroup(tx, orgId, num), isForced(request.query));
          return reply.code(204).send(null);
        },
      );
    }
    for (const url of [`${XUSERS}/groups/groupName/:groupName`, `${XUSERS}/secure/groups/:groupName`]) {
      app.delete(
        url,
        {
          config: write,
          schema: {
            tags,
            summary: "Delete a group by name (Ranger forceDelete rule)",
            params: NameParams,
            querystring: ForceQuery,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          const name = request.params.groupName;
          await remove(
            request,
            async (tx, orgId) => {
              const group = await findGroup(tx, orgId, { name });
              if (!group) throw fieldError(GroupNotFound, "path.groupName", "exists", `${name} is Not Found`);
              return group;
            },
            isForced(request.query),
          );
          return reply.code(204).send(null);
        },
      );
    }
  };
}
