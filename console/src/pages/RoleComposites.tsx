import { Button, Group, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useState } from "react";
import { api, type Page } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import type { Role } from "./types.ts";

/** A role's name, read by id (composites are stored as ids). */
function RoleName({ id }: { id: string }) {
  const req = useRequest(`role:${id}`, (signal) => api<Role>("GET", `/v1/roles/${id}`, { signal }));
  if (req.error !== undefined) return <Text size="sm">{id} (cannot be read)</Text>;
  return <Link to={`/roles/${id}`}>{req.data?.name ?? id}</Link>;
}

/**
 * The roles a role bundles: each composite with a Remove button, and a search (by name prefix, ten
 * at a time) whose matches can be added. Every change is one `PATCH /v1/roles/{id}` with the whole
 * list; the server refuses cycles (409 `ROLE_COMPOSITE_CYCLE`), shown here with its message.
 */
export function RoleComposites(props: { role: Role; canWrite: boolean; onChanged: (role: Role) => void }) {
  const { role } = props;
  const [search, setSearch] = useState("");
  const [prefix] = useDebouncedValue(search.trim(), 150);
  const matches = useRequest(
    `composite-search:${prefix}`,
    (signal) => api<Page<Role>>("GET", "/v1/roles", { query: { prefix, limit: 10 }, signal }),
    props.canWrite && prefix !== "",
  );
  const action = useAction();
  const save = (composites: string[]) =>
    action.run(async () => {
      props.onChanged(await api<Role>("PATCH", `/v1/roles/${role.id}`, { body: { composites } }));
    });

  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="xs">
        Composites
      </Title>
      <Text size="sm" c="dimmed" mb="xs">
        Holders of {role.name} also hold these roles.
      </Text>
      <Stack gap={4} aria-label="composite roles" data-testid="composites">
        {role.composites.length === 0 && <Text size="sm">No composites.</Text>}
        {role.composites.map((id) => (
          <Group key={id} gap="xs">
            <RoleName id={id} />
            {props.canWrite && (
              <Button
                size="compact-xs"
                variant="outline"
                color="red.9"
                onClick={() => save(role.composites.filter((c) => c !== id))}
              >
                Remove composite
              </Button>
            )}
          </Group>
        ))}
      </Stack>
      {props.canWrite && (
        <Stack gap="xs" mt="sm">
          <TextInput
            label="Add a composite"
            placeholder="role name prefix"
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
            maw={320}
          />
          {matches.error !== undefined && <ErrorState error={matches.error} onRetry={matches.retry} />}
          {prefix !== "" && matches.data && (
            <Group gap="xs" wrap="wrap" aria-label="matching roles">
              {matches.data.items.length === 0 && <Text size="sm">No role starts with “{prefix}”.</Text>}
              {matches.data.items
                .filter((r) => r.id !== role.id && !role.composites.includes(r.id))
                .map((r) => (
                  <Button
                    key={r.id}
                    size="compact-sm"
                    variant="default"
                    loading={action.busy}
                    onClick={() => save([...role.composites, r.id])}
                  >
                    Add {r.name}
                  </Button>
                ))}
              {matches.data.total > matches.data.items.length && (
                <Text size="xs" c="dimmed">
                  {matches.data.total.toLocaleString("en")} roles match; type more to narrow.
                </Text>
              )}
            </Group>
          )}
        </Stack>
      )}
      {action.error !== undefined && <FormError error={action.error} />}
    </Paper>
  );
}
