import { Badge, Button, Group, Paper, Stack, Text, Title } from "@mantine/core";
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api } from "../api/client.ts";
import { ConfirmButton } from "../components/ConfirmButton.tsx";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import { RoleComposites } from "./RoleComposites.tsx";
import { RoleFields } from "./RoleFields.tsx";
import { RoleBindingsOfRole } from "./RoleHolders.tsx";
import type { Role } from "./types.ts";

/** Name, description and permissions of a custom role (`PATCH /v1/roles/{id}`). */
function RoleEditForm({ role, onSaved }: { role: Role; onSaved: (role: Role) => void }) {
  const [name, setName] = useState(role.name);
  const [description, setDescription] = useState(role.description);
  const [permissions, setPermissions] = useState(role.permissions);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const ok = await action.run(async () =>
      onSaved(
        await api<Role>("PATCH", `/v1/roles/${role.id}`, { body: { name: name.trim(), description, permissions } }),
      ),
    );
    setSaved(ok);
  };
  return (
    <form onSubmit={submit} aria-label="Role">
      <RoleFields
        {...{ name, setName, description, setDescription, permissions, setPermissions }}
        error={action.error}
      />
      <Group mt="xs">
        <Button type="submit" loading={action.busy}>
          Save role
        </Button>
        {saved && (
          <Text size="sm" role="status">
            Saved.
          </Text>
        )}
      </Group>
      {action.error !== undefined && <FormError error={action.error} />}
    </form>
  );
}

/** Deletes a custom role; when policies name it, offers to delete it and remove it from them (`force=true`). */
function DeleteRole({ role }: { role: Role }) {
  const action = useAction();
  const remove = async (force: boolean) => {
    const ok = await action.run(() =>
      api("DELETE", `/v1/roles/${role.id}`, { query: force ? { force: true } : undefined }),
    );
    if (ok) navigate("/roles");
  };
  const inPolicies = action.error instanceof ApiError && action.error.code === "PRINCIPAL_IN_POLICIES";
  return (
    <Stack gap="xs">
      <ConfirmButton
        label="Delete role"
        question={`Delete ${role.name} and its bindings?`}
        busy={action.busy}
        onConfirm={() => remove(false)}
      />
      {action.error !== undefined && <FormError error={action.error} />}
      {inPolicies && (
        <ConfirmButton
          label="Delete and remove from policies"
          question="The role is removed from every policy that names it."
          busy={action.busy}
          onConfirm={() => remove(true)}
        />
      )}
    </Stack>
  );
}

/**
 * A role's page: what it is (built-in roles are read-only), its composites and who holds it
 * (bindings); with `directory.write`, a custom role is edited and deleted here.
 */
export function RolePage({ id }: { id: string }) {
  const canWrite = useCan("directory.write");
  const req = useRequest(`role-page:${id}`, (signal) => api<Role>("GET", `/v1/roles/${id}`, { signal }));
  const [role, setRole] = useState<Role | undefined>(undefined);
  useEffect(() => setRole(req.data), [req.data]);
  if (req.error !== undefined) return <ErrorState error={req.error} onRetry={req.retry} />;
  if (!role) return <Text c="dimmed">Loading…</Text>;
  const editable = canWrite && !role.builtin;
  return (
    <Stack>
      <Text size="sm">
        <Link to="/roles">Roles</Link> / {role.name}
      </Text>
      <Group gap="sm">
        <Title order={2}>Role {role.name}</Title>
        {role.builtin ? <Badge>built-in</Badge> : <Badge variant="outline">custom</Badge>}
      </Group>
      <Paper withBorder p="md">
        {editable ? (
          <RoleEditForm key={role.updatedAt} role={role} onSaved={setRole} />
        ) : (
          <Stack gap={4}>
            <Text size="sm">{role.description || "No description."}</Text>
            <Text size="sm">Permissions: {role.permissions.join(", ") || "none"}</Text>
          </Stack>
        )}
      </Paper>
      <RoleComposites role={role} canWrite={editable} onChanged={setRole} />
      <RoleBindingsOfRole role={role} canWrite={canWrite} />
      {editable && <DeleteRole role={role} />}
    </Stack>
  );
}
