import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import { BoundedTotalPage, IdParams, Page, PageQuery } from "../http/schemas.ts";
import { TotalQuery } from "../http/totals.ts";
import type { Db } from "../storage/db.ts";
import {
  CreateRoleBindingBody,
  CreateRoleBody,
  OrgQuery,
  PolicyForceQuery,
  Role,
  RoleBinding,
  RoleBindingListQuery,
  UpdateRoleBindingBody,
  UpdateRoleBody,
} from "./directory.schemas.ts";
import { listRoleBindings, listRoles } from "./lists.ts";
import { assertSameOrg, resolveOrgId } from "./org-scope.ts";
import { presentRole, presentRoleBinding } from "./present.ts";
import {
  createRoleBinding,
  deleteRoleBinding,
  getRoleBindingRow,
  setRoleBindingAdmin,
} from "./role-bindings.service.ts";
import { createRole, deleteRole, getRole, updateRole } from "./roles.service.ts";

/** `/v1/roles` (built-in and custom, composite) and `/v1/role-bindings`. */
export function roleRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const roleIn = async (actor: Parameters<typeof assertSameOrg>[0], id: string) => {
      const role = await getRole(db.kysely, id);
      if (role.orgId) assertSameOrg(actor, role.orgId);
      return role;
    };

    app.post(
      "/v1/roles",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Create a role",
          description:
            "A role bundles permissions and, as a composite, other roles (cycles are refused with 409 `ROLE_COMPOSITE_CYCLE`).",
          body: CreateRoleBody,
          response: { 201: Role },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, request.body.orgId);
        const role = await db.transaction((tx) => createRole(tx, auditContextOf(request), { ...request.body, orgId }));
        return reply.code(201).header("location", `/v1/roles/${role.id}`).send(role);
      },
    );

    app.get(
      "/v1/roles",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List roles",
          description: "Built-in roles and the organisation's own.",
          querystring: Type.Intersect([
            PageQuery,
            TotalQuery,
            OrgQuery,
            Type.Object({
              prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
              builtin: Type.Optional(Type.Boolean()),
            }),
          ]),
          response: { 200: BoundedTotalPage(Role, "RolePage") },
        },
      },
      async (request) => {
        const q = request.query;
        const orgId = await resolveOrgId(db.kysely, request.actor, q.orgId);
        const result = await listRoles(db.kysely, orgId, q, q.limit, q.cursor);
        return {
          ...result,
          items: result.items.map(({ composites, administers, ...row }) => presentRole(row, composites, administers)),
        };
      },
    );

    app.get(
      "/v1/roles/:id",
      {
        config: { ability: "directory.read" },
        schema: { tags: ["directory"], summary: "Get a role", params: IdParams, response: { 200: Role } },
      },
      async (request) => roleIn(request.actor, request.params.id),
    );

    app.patch(
      "/v1/roles/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Update a role",
          description:
            "Built-in roles are immutable (409 `ROLE_BUILTIN_IMMUTABLE`). `composites` replaces the list; `administers` replaces the composites this role's direct users and groups administer (each must be a composite; without it, composites that stay keep their flag).",
          params: IdParams,
          body: UpdateRoleBody,
          response: { 200: Role },
        },
      },
      async (request) => {
        await roleIn(request.actor, request.params.id);
        return db.transaction((tx) => updateRole(tx, auditContextOf(request), request.params.id, request.body));
      },
    );

    app.delete(
      "/v1/roles/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Delete a role",
          description:
            "Its bindings go with it. Built-in roles cannot be deleted. 409 `PRINCIPAL_IN_POLICIES` listing the policies that name the role, unless `force=true`, which removes the role from them.",
          params: IdParams,
          querystring: PolicyForceQuery,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await roleIn(request.actor, request.params.id);
        await db.transaction((tx) => deleteRole(tx, auditContextOf(request), request.params.id, request.query.force));
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/v1/role-bindings",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Bind a role to a principal",
          description:
            "Principal: a user, group (reaches every effective member) or service account. Scope: the organisation, a service, or a resource selector such as `catalog=sales,schema=*`; `allowAllObjects` grants every object in scope. `isAdmin` makes the principal an administrator of the role: it may grant and revoke the role through Ranger's role API (docs/plugin-roles.md).",
          body: CreateRoleBindingBody,
          response: { 201: RoleBinding },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, request.body.orgId);
        const binding = await db.transaction((tx) =>
          createRoleBinding(tx, auditContextOf(request), { ...request.body, orgId }),
        );
        return reply.code(201).header("location", `/v1/role-bindings/${binding.id}`).send(binding);
      },
    );

    app.get(
      "/v1/role-bindings",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "List role bindings",
          querystring: Type.Intersect([PageQuery, OrgQuery, RoleBindingListQuery]),
          response: { 200: Page(RoleBinding, "RoleBindingPage") },
        },
      },
      async (request) => {
        const q = request.query;
        const orgId = await resolveOrgId(db.kysely, request.actor, q.orgId);
        const result = await listRoleBindings(db.kysely, orgId, q, q.limit, q.cursor);
        return { ...result, items: result.items.map(presentRoleBinding) };
      },
    );

    app.get(
      "/v1/role-bindings/:id",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["directory"],
          summary: "Get a role binding",
          params: IdParams,
          response: { 200: RoleBinding },
        },
      },
      async (request) => {
        const row = await getRoleBindingRow(db.kysely, request.params.id);
        assertSameOrg(request.actor, row.org_id);
        return presentRoleBinding(row);
      },
    );

    app.patch(
      "/v1/role-bindings/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Make a binding's principal an administrator of its role, or no longer one",
          description:
            "`isAdmin` is the one field a binding lets change (Ranger's `isAdmin`, Hive's WITH ADMIN OPTION); role, principal and scope are fixed: delete and bind again. Making an administrator is held to the same escalation guard as binding the role. Audited as `role_binding.updated` when it changes.",
          params: IdParams,
          body: UpdateRoleBindingBody,
          response: { 200: RoleBinding },
        },
      },
      async (request) => {
        const row = await getRoleBindingRow(db.kysely, request.params.id);
        assertSameOrg(request.actor, row.org_id);
        return db.transaction((tx) =>
          setRoleBindingAdmin(tx, auditContextOf(request), request.params.id, request.body.isAdmin),
        );
      },
    );

    app.delete(
      "/v1/role-bindings/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["directory"],
          summary: "Delete a role binding",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const row = await getRoleBindingRow(db.kysely, request.params.id);
        assertSameOrg(request.actor, row.org_id);
        await db.transaction((tx) => deleteRoleBinding(tx, auditContextOf(request), request.params.id));
        return reply.code(204).send(null);
      },
    );
  };
}
