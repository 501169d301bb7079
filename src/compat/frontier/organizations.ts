import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { Actor } from "../../auth/actor.ts";
import { createOrg, getOrgRow, updateOrg } from "../../directory/orgs.service.ts";
import { getUserRow } from "../../directory/users.service.ts";
import { FrontierOperationNotServed, Unauthenticated } from "../../errors.ts";
import type { Db, Queryable } from "../../storage/db.ts";
import type { OrgRow } from "../../storage/schema.ts";
import { frontierErrors } from "./errors.ts";
import { orgOf } from "./org-of.ts";
import { presentFrontierUser } from "./present.ts";
import { read, TAGS, write } from "./route-config.ts";
import {
  CurrentUserOrganizationsResponse,
  CurrentUserResponse,
  ListOrganizationsQuery,
  OrganizationResponse,
  OrganizationsResponse,
  OrgIdParams,
  OrgRequestBody,
  OrgUsersQuery,
  OrgUsersResponse,
  StateQuery,
} from "./schemas.ts";

/** A Frontier `Organization`. Native organisations have no state (always `enabled`) and no avatar. */
export function presentFrontierOrg(org: OrgRow) {
  return {
    id: org.id,
    name: org.name,
    title: org.title,
    metadata: org.metadata,
    created_at: org.created_at.toISOString(),
    updated_at: org.updated_at.toISOString(),
    state: "enabled",
    avatar: "",
  };
}

function notServed(field: string, message: string) {
  return FrontierOperationNotServed(message, { details: [{ field, rule: "not_served", message }] });
}

/** Gatehouse stores no avatars: an empty one is what Frontier keeps for "none", anything else is refused. */
function refuseAvatar(avatar: string | undefined) {
  if (avatar) throw notServed("body.avatar", "`avatar`: Gatehouse does not store organisation avatars");
}

/** The organisation of a user or service-account caller; null for the general PSK and tokens. */
function callerOrgOf(actor: Actor): string | null {
  return actor.type === "user" || actor.type === "service_account" ? actor.orgId : null;
}

/** Organisations an `enabled`/`disabled` filter keeps: every native organisation is enabled. */
function keepsEnabled(state: string | undefined): boolean {
  return !state || state === "enabled";
}

/**
 * Frontier's organisation calls over `/v1/orgs`'s services: list, get, create, update, the
 * organisation's users, and the caller's own organisations and identity.
 */
export function frontierOrganizationRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/v1beta1/organizations",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List organizations (Frontier ListOrganizations)",
          description:
            "Every organisation the caller may see (an organisation-bound credential: its own), by name; `user_id` keeps the user's organisation, `state=disabled` is empty (native organisations are always enabled); `page_size` (default 1000) and `page_num` (from 1) as in Frontier.",
          querystring: ListOrganizationsQuery,
          response: { 200: OrganizationsResponse, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => {
        const q = request.query;
        if (!keepsEnabled(q.state)) return { organizations: [] };
        let query = db.kysely.selectFrom("orgs").selectAll().orderBy("name");
        if (request.actor.orgId) query = query.where("id", "=", request.actor.orgId);
        if (q.user_id) {
          const user = await getUserRow(db.kysely, q.user_id, "query.user_id");
          query = query.where("id", "=", user.org_id);
        }
        const size = q.page_size || 1000;
        const rows = await query
          .limit(size)
          .offset(((q.page_num || 1) - 1) * size)
          .execute();
        return { organizations: rows.map(presentFrontierOrg) };
      },
    );

    app.post(
      "/v1beta1/organizations",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Create organization (Frontier CreateOrganization)",
          description:
            "Creates a native organisation (`createOrg`: names unique case-insensitively, 409 code 6). Gatehouse has no organisation metaschema, so metadata is stored as given; the caller does not become a member (a native user belongs to exactly one organisation); a non-empty `avatar` is 501 (code 12).",
          body: OrgRequestBody,
          response: { 200: OrganizationResponse, ...frontierErrors(400, 401, 403, 409, 500, 501) },
        },
      },
      async (request) => {
        const { name, title, metadata, avatar } = request.body;
        refuseAvatar(avatar);
        const organization = await db.transaction(async (tx) => {
          const view = await createOrg(tx, auditContextOf(request), { name, title, metadata });
          return presentFrontierOrg(await getOrgRow(tx, view.id));
        });
        return { organization };
      },
    );

    app.get(
      "/v1beta1/organizations/:id",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get organization (Frontier GetOrganization)",
          description: "By id or name, as in Frontier.",
          params: OrgIdParams,
          response: { 200: OrganizationResponse, ...frontierErrors(400, 401, 403, 404, 500) },
        },
      },
      async (request) => ({
        organization: presentFrontierOrg(await orgOf(db.kysely, request.actor, request.params.id, "path.id")),
      }),
    );

    app.put(
      "/v1beta1/organizations/:id",
      {
        config: write,
        schema: {
          tags: TAGS,
          summary: "Update organization (Frontier UpdateOrganization)",
          description:
            "Sets the title and replaces the metadata (`updateOrg`); as in Frontier's proto3 body, an absent title or metadata is the empty one. The name cannot change (native organisation names are quoted by policies and URLs): a different name is 501 (code 12), as is a non-empty `avatar`.",
          params: OrgIdParams,
          body: OrgRequestBody,
          response: { 200: OrganizationResponse, ...frontierErrors(400, 401, 403, 404, 500, 501) },
        },
      },
      async (request) => {
        const { name, title, metadata, avatar } = request.body;
        refuseAvatar(avatar);
        const organization = await db.transaction(async (tx) => {
          const org = await orgOf(tx, request.actor, request.params.id, "path.id");
          if (name.toLowerCase() !== org.name.toLowerCase()) {
            throw notServed("body.name", "`name`: renaming an organisation is not served by Gatehouse");
          }
          await updateOrg(tx, auditContextOf(request), org.id, { title: title ?? "", metadata: metadata ?? {} });
          return presentFrontierOrg(await getOrgRow(tx, org.id));
        });
        return { organization };
      },
    );

    app.get(
      "/v1beta1/organizations/:id/users",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List organization users (Frontier ListOrganizationUsers)",
          description:
            "The organisation's users (unpaginated, as in Frontier). `with_roles` adds `role_pairs`: each user's native role bindings at organisation scope, as Frontier roles (`name` = the native role's name, scope `app/organization`); `role_filters` keeps users bound to one of the named roles (id or name). `permission_filter` (Frontier's permission names) has no native counterpart: non-empty is 501 (code 12).",
          params: OrgIdParams,
          querystring: OrgUsersQuery,
          response: { 200: OrgUsersResponse, ...frontierErrors(400, 401, 403, 404, 500, 501) },
        },
      },
      async (request) => {
        const q = request.query;
        if (q.permission_filter) {
          throw notServed("query.permission_filter", "`permission_filter`: Frontier permissions are not served");
        }
        const org = await orgOf(db.kysely, request.actor, request.params.id, "path.id");
        const users = await db.kysely
          .selectFrom("users")
          .where("org_id", "=", org.id)
          .selectAll()
          .orderBy("username")
          .execute();
        const roles = await orgRolesOfUsers(db.kysely, org.id);
        const filters = new Set(q.role_filters ?? []);
        const kept =
          filters.size > 0
            ? users.filter((u) => (roles.get(u.id) ?? []).some((r) => filters.has(r.id) || filters.has(r.name)))
            : users;
        return {
          users: kept.map(presentFrontierUser),
          role_pairs: q.with_roles ? kept.map((u) => ({ user_id: u.id, roles: roles.get(u.id) ?? [] })) : [],
        };
      },
    );

    app.get(
      "/v1beta1/users/self/organizations",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "List current user's organizations (Frontier ListOrganizationsByCurrentUser)",
          description:
            "The organisation of the calling user or service account (a native principal belongs to exactly one). `joinable_via_domain` is always empty: Gatehouse has no organisation domains. A caller that is neither (the general PSK, a token without a directory user) is 401 (code 16), as Frontier answers a request without a principal.",
          querystring: StateQuery,
          response: { 200: CurrentUserOrganizationsResponse, ...frontierErrors(400, 401, 403, 500) },
        },
      },
      async (request) => {
        const orgId = callerOrgOf(request.actor);
        if (!orgId) throw noPrincipal();
        const org = await getOrgRow(db.kysely, orgId);
        const organizations = keepsEnabled(request.query.state) ? [presentFrontierOrg(org)] : [];
        return { organizations, joinable_via_domain: [] };
      },
    );

    app.get(
      "/v1beta1/users/self",
      {
        config: read,
        schema: {
          tags: TAGS,
          summary: "Get current user (Frontier GetCurrentUser)",
          description:
            "A user's API key: `{user}`, its directory user. A service account: `{serviceuser}` (`title` = its name, `state` enabled/disabled), as Frontier answers a service-user principal. Any other caller (the general PSK, a token) is 401 (code 16), as Frontier answers a request without a user or service-user principal.",
          response: { 200: CurrentUserResponse, ...frontierErrors(401, 403, 404, 500) },
        },
      },
      async (request) => {
        const { actor } = request;
        if (actor.type === "user" && actor.id) {
          return { user: presentFrontierUser(await getUserRow(db.kysely, actor.id, "credential")) };
        }
        if (actor.type === "service_account" && actor.id) {
          const sa = await db.kysely
            .selectFrom("service_accounts")
            .where("id", "=", actor.id)
            .selectAll()
            .executeTakeFirst();
          if (!sa) throw noPrincipal();
          return {
            serviceuser: {
              id: sa.id,
              title: sa.name,
              metadata: sa.description ? { description: sa.description } : {},
              created_at: sa.created_at.toISOString(),
              updated_at: sa.updated_at.toISOString(),
              state: sa.disabled ? "disabled" : "enabled",
              org_id: sa.org_id,
            },
          };
        }
        throw noPrincipal();
      },
    );
  };
}

function noPrincipal() {
  return Unauthenticated("not authenticated: the caller is not a user or a service account");
}

/** Each user's role bindings at organisation scope, as Frontier roles. */
async function orgRolesOfUsers(db: Queryable, orgId: string) {
  const rows = await db
    .selectFrom("role_bindings as b")
    .innerJoin("roles as r", "r.id", "b.role_id")
    .where("b.org_id", "=", orgId)
    .where("b.principal_type", "=", "user")
    .where("b.scope_type", "=", "org")
    .select(["b.principal_id", "r.id", "r.name", "r.description", "r.permissions"])
    .orderBy("r.name")
    .execute();
  const out = new Map<string, { id: string; name: string; title: string; permissions: string[]; scopes: string[] }[]>();
  for (const row of rows) {
    const list = out.get(row.principal_id) ?? [];
    list.push({
      id: row.id,
      name: row.name,
      title: row.description || row.name,
      permissions: row.permissions,
      scopes: ["app/organization"],
    });
    out.set(row.principal_id, list);
  }
  return out;
}
