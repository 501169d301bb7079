import { Badge, Button, Group, Paper, Stack, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { FormError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useAction } from "../components/useAction.ts";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import { RoleFields } from "./RoleFields.tsx";
import type { Role } from "./types.ts";

/** Creates a custom role, then opens its page (composites and bindings are edited there). */
function NewRole() {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [permissions, setPermissions] = useState<string[]>([]);
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let created: Role | undefined;
    const ok = await action.run(async () => {
      created = await api<Role>("POST", "/v1/roles", { body: { name: name.trim(), description, permissions } });
    });
    if (ok && created) navigate(`/roles/${created.id}`);
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} aria-label="New role">
        <Title order={3} size="h4" mb="xs">
          New role
        </Title>
        <RoleFields
          {...{ name, setName, description, setDescription, permissions, setPermissions }}
          error={action.error}
        />
        <Group mt="xs">
          <Button type="submit" loading={action.busy}>
            Create role
          </Button>
        </Group>
        {action.error !== undefined && <FormError error={action.error} />}
      </form>
    </Paper>
  );
}

/** Roles: built-in and custom, searchable by prefix; each opens its page; custom roles are created here. */
export function RolesPage() {
  const canWrite = useCan("directory.write");
  return (
    <Stack>
      <Title order={2}>Roles</Title>
      {canWrite && <NewRole />}
      <PagedTable<Role>
        label="roles"
        path="/v1/roles"
        searchParam="prefix"
        rowKey={(r) => r.id}
        columns={[
          { header: "Name", render: (r) => <Link to={`/roles/${r.id}`}>{r.name}</Link> },
          { header: "Kind", render: (r) => (r.builtin ? <Badge>built-in</Badge> : "custom") },
          { header: "Permissions", render: (r) => r.permissions.join(", ") },
          { header: "Composites", render: (r) => r.composites.length },
          { header: "Description", render: (r) => r.description },
        ]}
      />
    </Stack>
  );
}
