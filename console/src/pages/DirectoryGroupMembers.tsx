import { Button, Group, Paper, SegmentedControl, Text, Title } from "@mantine/core";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useQueryState } from "../router.ts";

/**
 * A directory group's members as the directory holds them (`GET /v1/identity-sources/{id}/group-members`),
 * paged: its direct members (users and groups), or with "nested" the users of every member group.
 * The choice and the page live in the URL (`nested=1`, `dmcursor`), next to the group's DN (`members`).
 */
export function DirectoryGroupMembers({
  sourceId,
  dn,
  onClose,
}: {
  sourceId: string;
  dn: string;
  onClose?: () => void;
}) {
  const { get, set } = useQueryState();
  const nested = get("nested") === "1";
  return (
    <Paper withBorder p="sm" mt="sm">
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Title order={4} size="h5">
          Members of <code>{dn}</code> in the directory
        </Title>
        <Group gap="xs">
          <SegmentedControl
            size="xs"
            aria-label="Which directory members"
            value={nested ? "nested" : "direct"}
            onChange={(v) => set({ nested: v === "nested" ? "1" : null, dmcursor: null, dmpage: null })}
            data={[
              { value: "direct", label: "Direct" },
              { value: "nested", label: "Nested users" },
            ]}
          />
          {onClose && (
            <Button size="xs" variant="default" onClick={onClose}>
              Close members
            </Button>
          )}
        </Group>
      </Group>
      <Text size="xs" c="dimmed" mb="xs">
        Read from the directory now; the sync decides what Gatehouse's groups hold.
      </Text>
      <PagedTable<{ dn: string; kind: "user" | "group" }>
        label="directory members"
        prefix="dm"
        path={`/v1/identity-sources/${sourceId}/group-members`}
        query={{ dn, nested: nested ? "true" : "false" }}
        limit={20}
        rowKey={(m) => m.dn}
        columns={[
          { header: "Kind", render: (m) => m.kind },
          { header: "DN", render: (m) => <code>{m.dn}</code> },
        ]}
      />
    </Paper>
  );
}

/**
 * On a synced group's page: the directory entries of its identity source named like it
 * (`GET /v1/identity-sources/{id}/groups?search=<name>`; Gatehouse keeps the entry's id, not its
 * DN), each offering its members as the directory holds them.
 */
export function SyncedGroupInDirectory({ sourceId, name }: { sourceId: string; name: string }) {
  const { get, set } = useQueryState();
  const membersOf = get("members");
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="xs">
        In the directory
      </Title>
      <Text size="sm" mb="xs">
        Synced from <Link to={`/identity-sources/${sourceId}`}>its identity source</Link>; its entries named “{name}”:
      </Text>
      <PagedTable<{ dn: string; name: string | null }>
        label="directory entries"
        prefix="e"
        path={`/v1/identity-sources/${sourceId}/groups`}
        query={{ search: name }}
        limit={10}
        rowKey={(g) => g.dn}
        columns={[
          { header: "DN", render: (g) => <code>{g.dn}</code> },
          {
            header: "Members",
            render: (g) => (
              <Button
                size="compact-xs"
                variant="default"
                onClick={() => set({ members: g.dn, dmcursor: null, dmpage: null })}
              >
                Directory members of {g.name ?? g.dn}
              </Button>
            ),
          },
        ]}
      />
      {membersOf && (
        <DirectoryGroupMembers
          sourceId={sourceId}
          dn={membersOf}
          onClose={() => set({ members: null, dmcursor: null, dmpage: null, nested: null })}
        />
      )}
    </Paper>
  );
}
