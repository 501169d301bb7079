import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Static } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { Actor } from "../../auth/actor.ts";
import { groupsOfUser, membersOfGroup } from "../../directory/effective.ts";
import { fail } from "../../directory/fail.ts";
import { createGroup, deleteGroup, getGroupRow, updateGroup } from "../../directory/groups.service.ts";
import { putMember, removeMember } from "../../directory/members.service.ts";
import { assertSameOrg } from "../../directory/org-scope.ts";
import { getUserRow } from "../../directory/users.service.ts";
import { AppError, GroupNotFound, MemberNotFound, ValidationFailed } from "../../errors.ts";
import { IdParams } from "../../http/schemas.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import type { GroupRow, OrgRow } from "../../storage/schema.ts";
import { acceptEmptyJsonBody } from "../shared/empty-json-body.ts";
import { allGroups, directMembers, everyPage } from "../shared/reads.ts";
import { frontierErrors } from "./errors.ts";
import { frontierMetaschemaRoutes } from "./metaschemas.ts";
import { orgOf } from "./org-of.ts";
import { frontierOrganizationRoutes } from "./organizations.ts";
import { presentFrontierGroup, presentFrontierUser, rolePairOf, STATE_KEY, stateOf } from "./present.ts";
import { read, TAGS, write } from "./route-config.ts";
import {
  AddGroupUsersBody,
  Empty,
  GroupRequestBody,
  GroupResponse,
  GroupsResponse,
  GroupUsersResponse,
  ListGroupsQuery,
  OrgGroupParams,
  OrgGroupUserParams,
  OrgParams,
  UserGroupsQuery,
  WithMembersQuery,
} from "./schemas.ts";

/** A group of the organisation in the path; a group of another organisation reads as missing. */
async function groupOf(db: Queryable, org: OrgRow, id: string): Promise<GroupRow> {
  const group = await getGroupRow(db, id, "path.id");
  if (group.org_id !== org.id) throw fail(GroupNotFound, "path.id", "exists", "group doesn't exist");
  return group;
}

async function withMembers(db: Queryable, group: GroupRow, users: boolean, count: boolean) {
  if (users) {
    const members = await directMembers(db, group.id);
    return presentFrontierGroup(group, { users: members, count: members.length });
  }
  if (count) {
    const page = await membersOfGroup(db, group.id, { effective: false, limit: 1 });
    return presentFrontierGroup(group, { count: page.total });
  }
  return presentFrontierGroup(group);
}

/**
 * Raystack Frontier's group API (`/v1beta1/...`, the grpc-gateway REST mapping) over the native
 * directory: each handler maps Frontier's request onto the directory services and their result
 * back into Frontier's shapes, errors included (`{code, message, details}`).
 */
export function frontierRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    acceptEmptyJsonBody(app);
    // grpc-gateway answers a path it does not route with a google.rpc.Status too (code 5)
    await app.register(
      async (scope) => {
        scope.setNotFoundHandler((_request, reply) =>
          reply.code(404).send({ code: 5, message: "Not Found", details: [] }),
        );
      },
      { prefix: "/v1beta1" },
    );
    await app.register(frontierOrganizationRoutes(db));
    await app.register(frontierMetaschemaRoutes(db));
    app.post(
      "/v1beta1/organizations/:org_id/groups",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Create group (Frontier CreateGroup)",
          description:
            "Creates a native group in the organisation (`org_id` is its id or name). The name must match `^[A-Za-z0-9_-]+$` (2+ characters) and be unique in the organisation (409, code 6); metadata is checked against the organisation's group metaschema (400, code 3). A user caller becomes the group's owner.",
          params: OrgParams,
          body: GroupRequestBody,
          response: { 200: GroupResponse, ...frontierErrors(400, 401, 403, 404, 409, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        const { name, title, metadata } = request.body;
        const group = await db.transaction(async (tx) => {
          const view = await createGroup(tx, auditContextOf(request), { orgId: org.id, name, title, metadata });
          return withMembers(tx, await getGroupRow(tx, view.id), true, true);
        });
        return { group };
      },
    );

    app.get(
      "/v1beta1/organizations/:org_id/groups",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List organization groups (Frontier ListOrganizationGroups)",
          description:
            "Every group of the organisation, unpaginated as in Frontier; filters `state` and `group_ids`; `with_members` adds `users`, `with_member_count` adds `members_count`.",
          params: OrgParams,
          querystring: ListGroupsQuery,
          response: { 200: GroupsResponse, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        const q = request.query;
        const ids = q.group_ids && q.group_ids.length > 0 ? new Set(q.group_ids) : null;
        const groups = (await allGroups(db.kysely, org.id)).filter(
          (g) => (!q.state || stateOf(g) === q.state) && (!ids || ids.has(g.id)),
        );
        const out = [];
        for (const g of groups) {
          out.push(await withMembers(db.kysely, g, q.with_members ?? false, q.with_member_count ?? false));
        }
        return { groups: out };
      },
    );

    app.get(
      "/v1beta1/organizations/:org_id/groups/:id",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get group (Frontier GetGroup)",
          description: "A disabled group reads as not found, as in Frontier.",
          params: OrgGroupParams,
          querystring: WithMembersQuery,
          response: { 200: GroupResponse, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        const group = await groupOf(db.kysely, org, request.params.id);
        if (stateOf(group) === "disabled") throw fail(GroupNotFound, "path.id", "exists", "group doesn't exist");
        const withUsers = request.query.with_members ?? false;
        return { group: await withMembers(db.kysely, group, withUsers, withUsers) };
      },
    );

    app.put(
      "/v1beta1/organizations/:org_id/groups/:id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Update group (Frontier UpdateGroup)",
          description:
            "Renames the group, sets its title and replaces its metadata (checked against the metaschema); the same name rule as on create.",
          params: OrgGroupParams,
          body: GroupRequestBody,
          response: { 200: GroupResponse, ...frontierErrors(400, 401, 403, 404, 409, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        const { name, title, metadata } = request.body;
        const group = await db.transaction(async (tx) => {
          const current = await groupOf(tx, org, request.params.id);
          const state = current.metadata[STATE_KEY];
          await updateGroup(tx, auditContextOf(request), current.id, {
            name,
            ...(title !== undefined ? { title } : {}),
            ...(metadata !== undefined ? { metadata: state ? { ...metadata, [STATE_KEY]: state } : metadata } : {}),
          });
          return presentFrontierGroup(await getGroupRow(tx, current.id));
        });
        return { group };
      },
    );

    app.delete(
      "/v1beta1/organizations/:org_id/groups/:id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Delete group (Frontier DeleteGroup)",
          description:
            "Deletes the group with its memberships and its role bindings (each removal audited); subgroups made through the native API go with it. A group that data-access policies name is refused with `FAILED_PRECONDITION` (9, HTTP 400) listing them: remove it from the policies, or delete it with `DELETE /v1/groups/{id}?force=true`.",
          params: OrgGroupParams,
          response: { 200: Empty, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        await db.transaction(async (tx) => {
          await groupOf(tx, org, request.params.id);
          await deleteGroup(tx, auditContextOf(request), request.params.id, true, false);
        });
        return {};
      },
    );

    for (const action of ["enable", "disable"] as const) {
      app.post(
        `/v1beta1/organizations/:org_id/groups/:id/${action}`,
        {
          config: write,
          schema: {
            tags: TAGS,
            summary: `${action === "enable" ? "Enable" : "Disable"} group (Frontier ${action === "enable" ? "EnableGroup" : "DisableGroup"})`,
            description:
              "A reversible state flip: a disabled group reads as not found on get, but keeps its members and role bindings (as in Frontier, access is not revoked). The state is kept in the native group's metadata key `frontier_state`.",
            params: OrgGroupParams,
            response: { 200: Empty, ...frontierErrors(400, 401, 403, 404, 500) },
          },
        },
        async (request) => {
          const org = await orgOf(db.kysely, request.actor, request.params.org_id);
          await db.transaction(async (tx) => {
            const group = await groupOf(tx, org, request.params.id);
            if (stateOf(group) === (action === "enable" ? "enabled" : "disabled")) return;
            const { [STATE_KEY]: _state, ...rest } = group.metadata;
            const metadata = action === "disable" ? { ...rest, [STATE_KEY]: "disabled" } : rest;
            await updateGroup(tx, auditContextOf(request), group.id, { metadata });
          });
          return {};
        },
      );
    }

    app.get(
      "/v1beta1/organizations/:org_id/groups/:id/users",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List group users (Frontier ListGroupUsers)",
          description:
            "The direct members, with `role_pairs` giving each one's role: the native owner is `app_group_owner`, member `app_group_member`.",
          params: OrgGroupParams,
          response: { 200: GroupUsersResponse, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        await groupOf(db.kysely, org, request.params.id);
        const members = await directMembers(db.kysely, request.params.id);
        return { users: members.map(presentFrontierUser), role_pairs: members.map(rolePairOf) };
      },
    );

    app.delete(
      "/v1beta1/organizations/:org_id/groups/:id/users/:user_id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Remove group user (Frontier RemoveGroupUser)",
          description:
            "Removing a user who is not a direct member succeeds without change, as the SDK documents; removing the last owner is 400 (code 3), atomically guarded.",
          params: OrgGroupUserParams,
          response: { 200: Empty, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        await db.transaction(async (tx) => {
          await groupOf(tx, org, request.params.id);
          try {
            await removeMember(tx, auditContextOf(request), request.params.id, request.params.user_id);
          } catch (err) {
            // Frontier removes the relation if there is one: not a member is success, unchanged
            if (!(err instanceof AppError && err.code === MemberNotFound.code)) throw err;
          }
        });
        return {};
      },
    );

    app.post(
      "/v1beta1/organizations/:org_id/groups/:id/users",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Add group users (Frontier AddGroupUsers)",
          description:
            "Adds each user as a member; users already in the group keep their role. An unknown user is 404 (code 5) and nothing is added.",
          params: OrgGroupParams,
          body: AddGroupUsersBody,
          response: { 200: Empty, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const org = await orgOf(db.kysely, request.actor, request.params.org_id);
        const ctx = auditContextOf(request);
        await db.transaction(async (tx) => {
          await groupOf(tx, org, request.params.id);
          for (const userId of new Set(request.body.user_ids ?? [])) {
            const member = await tx
              .selectFrom("group_members")
              .where("group_id", "=", request.params.id)
              .where("user_id", "=", userId)
              .select("role")
              .executeTakeFirst();
            if (!member) await putMember(tx, ctx, request.params.id, userId, "member");
          }
        });
        return {};
      },
    );

    const listUserGroups = async (actor: Actor, userId: string, query: Static<typeof UserGroupsQuery>) => {
      const user = await getUserRow(db.kysely, userId, "path.id");
      assertSameOrg(actor, user.org_id);
      const org = query.org_id ? await orgOf(db.kysely, actor, query.org_id) : null;
      const groups = await everyPage((cursor) =>
        groupsOfUser(db.kysely, user.id, { effective: false, limit: 1000, cursor }),
      );
      const out = [];
      for (const g of groups) {
        if (org && g.org_id !== org.id) continue;
        if (stateOf(g) === "disabled") continue;
        out.push(await withMembers(db.kysely, g, false, query.with_member_count ?? false));
      }
      return { groups: out };
    };

    app.get(
      "/v1beta1/users/self/groups",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List current user groups (Frontier ListCurrentUserGroups)",
          description: "The groups the calling user belongs to directly; the caller must be a user (an API key).",
          querystring: UserGroupsQuery,
          response: { 200: GroupsResponse, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const { actor } = request;
        if (actor.type !== "user" || !actor.id) {
          throw fail(ValidationFailed, "path.id", "user", "`self` needs a user's credential (an api key)");
        }
        return listUserGroups(actor, actor.id, request.query);
      },
    );

    app.get(
      "/v1beta1/users/:id/groups",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List user groups (Frontier ListUserGroups)",
          description: "The groups a user belongs to directly, optionally in one organisation (`org_id`, id or name).",
          params: IdParams,
          querystring: UserGroupsQuery,
          response: { 200: GroupsResponse, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => listUserGroups(request.actor, request.params.id, request.query),
    );
  };
}
