import { Badge, Button, Checkbox, Group, NativeSelect, Paper, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api, type Page } from "../api/client.ts";
import { FormError, fieldError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import type { Group as DirGroup, Role, RoleBinding, User } from "./types.ts";

type ScopeType = RoleBinding["scope"]["type"];

/** A binding's principal by name, read by id, linking to its page. */
function PrincipalName({ principal }: { principal: RoleBinding["principal"] }) {
  const path = principal.type === "user" ? `/v1/users/${principal.id}` : `/v1/groups/${principal.id}`;
  const req = useRequest(
    `principal:${path}`,
    (signal) => api<User & DirGroup>("GET", path, { signal }),
    principal.type !== "service_account",
  );
  if (principal.type === "service_account") return <Text size="sm">service account {principal.id}</Text>;
  const name = req.data ? (principal.type === "user" ? req.data.username : req.data.name) : principal.id;
  return (
    <Text size="sm">
      {principal.type} <Link to={`/${principal.type}s/${principal.id}`}>{name}</Link>
    </Text>
  );
}

/** The id of the user or group named exactly `name` (searched server-side, ten at a time), or an error naming it. */
async function principalIdOf(type: "user" | "group", name: string): Promise<string> {
  if (type === "user") {
    const page = await api<Page<User>>("GET", "/v1/users", { query: { q: name, limit: 10 } });
    const found = page.items.find((u) => u.username === name);
    if (found) return found.id;
  } else {
    const page = await api<Page<DirGroup>>("GET", "/v1/groups", { query: { q: name, limit: 10 } });
    const found = page.items.find((g) => g.name === name);
    if (found) return found.id;
  }
  throw new Error(`no ${type} is named “${name}”`);
}

/**
 * Who holds a role (`/v1/role-bindings?roleId=…`): each binding's principal and scope, paged; bind
 * a user or group (named, looked up on the server) with a scope; make a principal the role's
 * administrator or no longer one (`PATCH`, Ranger's `isAdmin`); remove a binding.
 */
export function RoleBindingsOfRole({ role, canWrite }: { role: Role; canWrite: boolean }) {
  const [type, setType] = useState<"user" | "group">("user");
  const [name, setName] = useState("");
  const [scopeType, setScopeType] = useState<ScopeType>("org");
  const [scopeValue, setScopeValue] = useState("");
  const [isAdmin, setIsAdmin] = useState(false);
  const [reload, setReload] = useState(0);
  const action = useAction();
  const orgId = role.orgId ?? undefined;

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await action.run(async () => {
      const id = await principalIdOf(type, name.trim());
      await api("POST", "/v1/role-bindings", {
        body: {
          ...(orgId ? { orgId } : {}),
          roleId: role.id,
          principal: { type, id },
          scope: { type: scopeType, ...(scopeType === "org" ? {} : { value: scopeValue.trim() }) },
          isAdmin,
        },
      });
    });
    if (ok) {
      setName("");
      setReload((n) => n + 1);
    }
  };
  const change = async (work: () => Promise<unknown>) => {
    if (await action.run(work)) setReload((n) => n + 1);
  };

  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Bindings
      </Title>
      {canWrite && (
        <form onSubmit={add} aria-label="Bind this role">
          <Group align="flex-end" gap="xs" mb="sm" wrap="wrap">
            <NativeSelect
              label="Principal"
              data={[
                { value: "user", label: "user" },
                { value: "group", label: "group" },
              ]}
              value={type}
              onChange={(e) => setType(e.currentTarget.value as "user" | "group")}
            />
            <TextInput
              label={type === "user" ? "Username" : "Group name"}
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              error={fieldError(action.error, "body.principal")}
            />
            <NativeSelect
              label="Scope"
              data={[
                { value: "org", label: "the organisation" },
                { value: "service", label: "a service" },
                { value: "resource", label: "a resource" },
              ]}
              value={scopeType}
              onChange={(e) => setScopeType(e.currentTarget.value as ScopeType)}
              error={fieldError(action.error, "body.scope.type")}
            />
            {scopeType !== "org" && (
              <TextInput
                label={scopeType === "service" ? "Service name" : "Resource selector"}
                placeholder={scopeType === "service" ? "trino" : "catalog=sales,schema=*"}
                value={scopeValue}
                onChange={(e) => setScopeValue(e.currentTarget.value)}
                error={fieldError(action.error, "body.scope.value") ?? fieldError(action.error, "body.scope")}
              />
            )}
            <Checkbox
              label="Role administrator"
              checked={isAdmin}
              onChange={(e) => setIsAdmin(e.currentTarget.checked)}
            />
            <Button type="submit" loading={action.busy}>
              Bind role
            </Button>
          </Group>
        </form>
      )}
      {action.error !== undefined && <FormError error={action.error} />}
      <PagedTable<RoleBinding>
        label="bindings"
        prefix="b"
        path="/v1/role-bindings"
        query={{ orgId, roleId: role.id }}
        reloadKey={reload}
        limit={10}
        rowKey={(b) => b.id}
        columns={[
          { header: "Principal", render: (b) => <PrincipalName principal={b.principal} /> },
          {
            header: "Scope",
            render: (b) => (b.scope.type === "org" ? "organisation" : `${b.scope.type} ${b.scope.value}`),
          },
          { header: "Admin", render: (b) => (b.isAdmin ? <Badge size="xs">role admin</Badge> : "") },
          ...(canWrite
            ? [
                {
                  header: "Actions",
                  render: (b: RoleBinding) => (
                    <Group gap={4} wrap="nowrap">
                      <Button
                        size="compact-xs"
                        variant="default"
                        onClick={() =>
                          change(() => api("PATCH", `/v1/role-bindings/${b.id}`, { body: { isAdmin: !b.isAdmin } }))
                        }
                      >
                        {b.isAdmin ? "Revoke admin" : "Make admin"}
                      </Button>
                      <Button
                        size="compact-xs"
                        color="red.9"
                        variant="outline"
                        onClick={() => change(() => api("DELETE", `/v1/role-bindings/${b.id}`))}
                      >
                        Remove binding
                      </Button>
                    </Group>
                  ),
                },
              ]
            : []),
        ]}
      />
    </Paper>
  );
}
