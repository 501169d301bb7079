import { Button, Group, Paper, SegmentedControl, Stack, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError, fieldError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import { useQueryState } from "../router.ts";
import { useCan } from "../session.tsx";
import type { Group as GroupT, User } from "./types.ts";

function CreateUser({ onCreated }: { onCreated: (u: User) => void }) {
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const u = await api<User>("POST", "/v1/users", {
        body: { username: username.trim(), ...(email.trim() ? { email: email.trim() } : {}) },
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

function UserDetail({ id }: { id: string }) {
  const { get, set } = useQueryState();
  const effective = get("effective") !== "0";
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
      {u && (
        <Text size="sm">
          <Link to={`/access?user=${encodeURIComponent(u.username)}`}>Check what {u.username} can access</Link>
        </Text>
      )}
    </Stack>
  );
}

/** Directory → users: search, create, detail with direct and effective groups. */
export function UsersPage({ id }: { id?: string }) {
  const canWrite = useCan("directory.write");
  // `?org=<id>`: another organisation than the default one
  const org = useQueryState().get("org");
  const [created, setCreated] = useState<User | null>(null);
  if (id) return <UserDetail id={id} />;
  return (
    <Stack>
      <Title order={2}>Users</Title>
      {canWrite && (
        <Paper withBorder p="md">
          <CreateUser onCreated={setCreated} />
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
