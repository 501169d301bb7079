import { Badge, Button, Group, NativeSelect, Paper, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api, type Page } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError, fieldError } from "../components/FormError.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import type { Role, RoleBinding } from "./types.ts";

/**
 * The roles bound to a user or a group (`/v1/role-bindings?principalType=…&principalId=…`): listed
 * with their scope, bound with a role and a scope, and removed; a group's bindings reach every
 * member. Roles and bindings belong to an organisation, so every call names the principal's
 * (without it the server would take the caller's, or `default`, and a principal elsewhere would
 * show no bindings).
 */
export function RoleBindings({
  principal,
  orgId,
  canWrite,
}: {
  principal: { type: "user" | "group"; id: string };
  orgId: string;
  canWrite: boolean;
}) {
  const roles = useRequest(`roles:bind:${orgId}`, (signal) =>
    api<Page<Role>>("GET", "/v1/roles", { query: { orgId, limit: 1000 }, signal }),
  );
  const [roleId, setRoleId] = useState("");
  const [scopeType, setScopeType] = useState<"org" | "service" | "resource">("org");
  const [scopeValue, setScopeValue] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [reload, setReload] = useState(0);
  const roleName = (id: string) => roles.data?.items.find((r) => r.id === id)?.name ?? id;

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api("POST", "/v1/role-bindings", {
        body: {
          orgId,
          roleId,
          principal,
          scope: { type: scopeType, ...(scopeType === "org" ? {} : { value: scopeValue.trim() }) },
        },
      });
      setScopeValue("");
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (b: RoleBinding) => {
    setError(undefined);
    try {
      await api("DELETE", `/v1/role-bindings/${b.id}`);
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Role bindings
      </Title>
      {roles.error !== undefined && <ErrorState error={roles.error} onRetry={roles.retry} />}
      {canWrite && (
        <form onSubmit={add} aria-label="Bind a role">
          <Group align="flex-end" gap="xs" mb="sm" wrap="wrap">
            <NativeSelect
              label="Role"
              required
              data={[
                { value: "", label: "Choose a role" },
                ...(roles.data?.items ?? []).map((r) => ({ value: r.id, label: r.name })),
              ]}
              value={roleId}
              onChange={(e) => setRoleId(e.currentTarget.value)}
              error={fieldError(error, "body.roleId")}
            />
            <NativeSelect
              label="Scope"
              data={[
                { value: "org", label: "the organisation" },
                { value: "service", label: "a service" },
                { value: "resource", label: "a resource" },
              ]}
              value={scopeType}
              onChange={(e) => setScopeType(e.currentTarget.value as "org" | "service" | "resource")}
              error={fieldError(error, "body.scope.type")}
            />
            {scopeType !== "org" && (
              <TextInput
                label={scopeType === "service" ? "Service name" : "Resource selector"}
                placeholder={scopeType === "service" ? "trino" : "catalog=sales,schema=*"}
                value={scopeValue}
                onChange={(e) => setScopeValue(e.currentTarget.value)}
                error={fieldError(error, "body.scope.value") ?? fieldError(error, "body.scope")}
              />
            )}
            <Button type="submit">Bind role</Button>
          </Group>
        </form>
      )}
      {error !== undefined && !["body.roleId", "body.scope"].some((f) => fieldError(error, f) !== undefined) && (
        <FormError error={error} />
      )}
      <PagedTable<RoleBinding>
        label="role bindings"
        prefix="b"
        path="/v1/role-bindings"
        query={{ orgId, principalType: principal.type, principalId: principal.id }}
        reloadKey={reload}
        limit={10}
        rowKey={(b) => b.id}
        columns={[
          { header: "Role", render: (b) => roleName(b.roleId) },
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
                    <Button size="compact-xs" color="red.9" variant="outline" onClick={() => remove(b)}>
                      Remove binding {roleName(b.roleId)}
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
    </Paper>
  );
}
