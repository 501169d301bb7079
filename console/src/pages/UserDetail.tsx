import { Badge, Group, Paper, SegmentedControl, Stack, Tabs, Text, Title } from "@mantine/core";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import { useQueryState } from "../router.ts";
import { useCan } from "../session.tsx";
import { RoleBindings } from "./RoleBindings.tsx";
import type { Group as GroupT, User } from "./types.ts";
import { UserAccess } from "./UserAccess.tsx";
import { UserApiKeys } from "./UserApiKeys.tsx";

/** A role the user holds, as `GET /v1/users/{id}/roles` answers: the binding and how it reaches the user. */
interface HeldRole {
  roleId: string;
  roleName: string;
  builtin: boolean;
  permissions: string[];
  bindingId: string;
  scope: { type: string; value: string };
  via: { principal: { type: "user" | "group"; id: string }; roleId: string | null };
}

function UserGroups({ id }: { id: string }) {
  const { get, set } = useQueryState();
  const effective = get("effective") !== "0";
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h4">
          Groups
        </Title>
        <SegmentedControl
          aria-label="Which groups"
          value={effective ? "effective" : "direct"}
          onChange={(v) => set({ effective: v === "direct" ? "0" : null, gcursor: null, gpage: null })}
          data={[
            { value: "effective", label: "Effective" },
            { value: "direct", label: "Direct" },
          ]}
        />
      </Group>
      <PagedTable<{ group: GroupT; direct: boolean; role: string }>
        label="groups of this user"
        prefix="g"
        path={`/v1/users/${id}/groups`}
        query={{ effective: effective ? "true" : "false" }}
        rowKey={(m) => m.group.id}
        columns={[
          { header: "Group", render: (m) => <Link to={`/groups/${m.group.id}`}>{m.group.name}</Link> },
          { header: "Membership", render: (m) => (m.direct ? `direct ${m.role}` : "through a subgroup") },
        ]}
      />
    </Paper>
  );
}

/** The roles a user holds (`GET /v1/users/{id}/roles`), directly or through groups and composite roles. */
function UserRoles({ id }: { id: string }) {
  const { get, set } = useQueryState();
  const effective = get("reffective") !== "0";
  const viaText = (h: HeldRole) =>
    [
      h.via.principal.type === "user" ? (
        "bound to the user"
      ) : (
        <Link key="g" to={`/groups/${h.via.principal.id}`}>
          through a group
        </Link>
      ),
      h.via.roleId ? " · inside a composite role" : "",
    ].filter(Boolean);
  return (
    <Paper withBorder p="md">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h4">
          Roles held
        </Title>
        <SegmentedControl
          aria-label="Which roles"
          value={effective ? "effective" : "direct"}
          onChange={(v) => set({ reffective: v === "direct" ? "0" : null, rcursor: null, rpage: null })}
          data={[
            { value: "effective", label: "Effective" },
            { value: "direct", label: "Direct" },
          ]}
        />
      </Group>
      <PagedTable<HeldRole>
        label="roles of this user"
        prefix="r"
        path={`/v1/users/${id}/roles`}
        query={{ effective: effective ? "true" : "false" }}
        limit={20}
        rowKey={(h) => `${h.bindingId}:${h.roleId}`}
        columns={[
          {
            header: "Role",
            render: (h) => (
              <>
                <Link to="/roles">{h.roleName}</Link>{" "}
                {h.builtin && (
                  <Badge size="xs" variant="outline">
                    built-in
                  </Badge>
                )}
              </>
            ),
          },
          {
            header: "Scope",
            render: (h) => (h.scope.type === "org" ? "organisation" : `${h.scope.type} ${h.scope.value}`),
          },
          { header: "How", render: viaText },
          { header: "Permissions", render: (h) => h.permissions.join(", ") },
        ]}
      />
    </Paper>
  );
}

const TABS = ["groups", "roles", "keys", "access"] as const;

/**
 * A user's page: groups (direct or effective), roles held and the user's own role bindings, API
 * keys, and what the user can access per service; one tab at a time, the tab in the URL (`?tab=`).
 */
export function UserDetail({ id }: { id: string }) {
  const { get, set } = useQueryState();
  const canWrite = useCan("directory.write");
  const tab = (TABS as readonly string[]).includes(get("tab")) ? get("tab") : "groups";
  const user = useRequest(id, (signal) => api<User>("GET", `/v1/users/${id}`, { signal }));
  if (user.error !== undefined) return <ErrorState error={user.error} onRetry={user.retry} />;
  const u = user.data;
  return (
    <Stack>
      <Text size="sm">
        <Link to="/users">Users</Link> / {u?.username ?? "…"}
      </Text>
      <Title order={2}>User {u?.username ?? ""}</Title>
      {u && (
        <Text size="sm">
          {u.displayName ?? "no display name"} · {u.email ?? "no email"} · {u.status} · source {u.source}
        </Text>
      )}
      <Tabs value={tab} onChange={(v) => set({ tab: v === "groups" ? null : v })} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="groups">Groups</Tabs.Tab>
          <Tabs.Tab value="roles">Roles</Tabs.Tab>
          <Tabs.Tab value="keys">API keys</Tabs.Tab>
          <Tabs.Tab value="access">Access</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="groups" pt="md">
          <UserGroups id={id} />
        </Tabs.Panel>
        <Tabs.Panel value="roles" pt="md">
          <Stack>
            <UserRoles id={id} />
            {u?.orgId && <RoleBindings principal={{ type: "user", id }} orgId={u.orgId} canWrite={canWrite} />}
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="keys" pt="md">
          <UserApiKeys userId={id} />
        </Tabs.Panel>
        <Tabs.Panel value="access" pt="md">
          <Stack>
            <UserAccess userId={id} />
            {u && (
              <Text size="sm">
                <Link to={`/access?user=${encodeURIComponent(u.username)}`}>Ask the simulator about {u.username}</Link>
              </Text>
            )}
          </Stack>
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
