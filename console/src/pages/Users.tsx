import { Button, Group, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { FormError, fieldError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { OrgPicker } from "../components/OrgPicker.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useQueryState } from "../router.ts";
import { useCan } from "../session.tsx";
import type { User } from "./types.ts";
import { UserDetail } from "./UserDetail.tsx";

function CreateUser({ orgId, onCreated }: { orgId: string; onCreated: (u: User) => void }) {
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const u = await api<User>("POST", "/v1/users", {
        body: {
          username: username.trim(),
          ...(email.trim() ? { email: email.trim() } : {}),
          ...(orgId ? { orgId } : {}),
        },
      });
      setUsername("");
      setEmail("");
      onCreated(u);
    } catch (err) {
      setError(err);
    }
  };
  const named = fieldError(error, "body.username") ?? fieldError(error, "body.email");
  return (
    <form onSubmit={submit} aria-label="Create user">
      <Group align="flex-start" gap="xs" wrap="wrap">
        <TextInput
          label="New username"
          required
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          error={fieldError(error, "body.username")}
        />
        <TextInput
          label="Email"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.currentTarget.value)}
          error={fieldError(error, "body.email")}
        />
        <Button type="submit" mt={25}>
          Create user
        </Button>
      </Group>
      {error !== undefined && !named && <FormError error={error} />}
    </form>
  );
}

/** Directory → users: search, create, detail with direct and effective groups. */
export function UsersPage({ id }: { id?: string }) {
  const canWrite = useCan("directory.write");
  // `?org=<id>` (the picker): another organisation than the caller's own
  const org = useQueryState().get("org");
  const [created, setCreated] = useState<User | null>(null);
  if (id) return <UserDetail id={id} />;
  return (
    <Stack>
      <Title order={2}>Users</Title>
      <OrgPicker />
      {canWrite && (
        <Paper withBorder p="md">
          <CreateUser orgId={org} onCreated={setCreated} />
          {created && (
            <Text size="sm" mt="xs" role="status">
              Created <Link to={`/users/${created.id}`}>{created.username}</Link>.
            </Text>
          )}
        </Paper>
      )}
      <PagedTable<User>
        label="users"
        path="/v1/users"
        query={{ orgId: org || undefined, total: "bounded" }}
        searchParam="q"
        reloadKey={created?.id}
        rowKey={(u) => u.id}
        columns={[
          { header: "Username", render: (u) => <Link to={`/users/${u.id}`}>{u.username}</Link> },
          { header: "Display name", render: (u) => u.displayName ?? "" },
          { header: "Email", render: (u) => u.email ?? "" },
          { header: "Status", render: (u) => u.status },
        ]}
      />
    </Stack>
  );
}
