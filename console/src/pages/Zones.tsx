import { Paper, Stack, Title } from "@mantine/core";
import { PagedTable } from "../components/PagedTable.tsx";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import { MyZonesPanel, zoneLink } from "./MyZonesPanel.tsx";
import { useMyZones } from "./myZones.ts";
import { ZoneForm } from "./ZoneForm.tsx";
import type { Zone } from "./zoneForm.ts";

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
