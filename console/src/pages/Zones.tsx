import { List, Paper, Stack, Text, Title } from "@mantine/core";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import { type MyZones, useMyZones } from "./myZones.ts";
import { ZoneForm } from "./ZoneForm.tsx";
import type { Zone } from "./zoneForm.ts";

const zoneLink = (name: string) => <Link to={`/zones/${encodeURIComponent(name)}`}>{name}</Link>;

/** One list of zones, each a link on its own line (links in running text need more than colour). */
function ZoneList({ label, names }: { label: string; names: string[] }) {
  if (names.length === 0) return null;
  return (
    <>
      <Text size="sm">{label}</Text>
      <List size="sm" aria-label={label}>
        {names.map((z) => (
          <List.Item key={z}>{zoneLink(z)}</List.Item>
        ))}
      </List>
    </>
  );
}

/** The zones the actor administers and audits, as links; nothing when it holds none. */
export function MyZonesPanel({ zones }: { zones: MyZones | undefined }) {
  if (!zones || zones.administers.length + zones.audits.length === 0) return null;
  return (
    <Paper withBorder p="md" data-testid="my-zones">
      <Title order={3} size="h4" mb="xs">
        Your zones
      </Title>
      <ZoneList label="You administer" names={zones.administers} />
      <ZoneList label="You audit" names={zones.audits} />
    </Paper>
  );
}

/**
 * Security zones: the actor's own zones first (a zone administrator may hold no `policy.read`),
 * then every zone, paged, when the actor may read them; with `policy.write`, a zone is created here.
 */
export function ZonesPage() {
  const canRead = useCan("policy.read");
  const canWrite = useCan("policy.write");
  const mine = useMyZones();
  return (
    <Stack>
      <Title order={2}>Zones</Title>
      <MyZonesPanel zones={mine.data} />
      {canWrite && (
        <Paper withBorder p="md">
          <Title order={3} size="h4" mb="xs">
            New zone
          </Title>
          <ZoneForm full onSaved={(z) => navigate(`/zones/${encodeURIComponent(z.name)}`)} />
        </Paper>
      )}
      {canRead && (
        <PagedTable<Zone>
          label="zones"
          path="/v1/zones"
          rowKey={(z) => String(z.id)}
          columns={[
            { header: "Name", render: (z) => zoneLink(z.name) },
            { header: "Description", render: (z) => z.description },
            { header: "Services", render: (z) => Object.keys(z.services).join(", ") },
            { header: "Admins", render: (z) => [...z.adminUsers, ...z.adminUserGroups, ...z.adminRoles].join(", ") },
          ]}
        />
      )}
    </Stack>
  );
}
