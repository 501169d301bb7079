import { Card, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { api, type Page } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { Link } from "../components/Link.tsx";
import { useRequest } from "../components/useRequest.ts";
import { useCan } from "../session.tsx";
import { MyZonesPanel } from "./MyZonesPanel.tsx";
import { useMyZones } from "./myZones.ts";
import { OverviewConnectors } from "./OverviewConnectors.tsx";
import { OverviewSyncs } from "./OverviewSyncs.tsx";
import type { AuditEvent, EngineState, Service } from "./types.ts";

function Count({ label, path, to }: { label: string; path: string; to: string }) {
  const req = useRequest(path, (signal) => api<Page<unknown>>("GET", path, { query: { limit: 1 }, signal }));
  return (
    <Card withBorder>
      <Text size="sm" c="dimmed">
        <Link to={to}>{label}</Link>
      </Text>
      {req.error !== undefined ? (
        <ErrorState error={req.error} onRetry={req.retry} />
      ) : (
        <Text size="xl" fw={700} data-testid={`count-${label.toLowerCase()}`}>
          {req.data ? req.data.total.toLocaleString("en") : "…"}
        </Text>
      )}
    </Card>
  );
}

function EngineCell({ service }: { service: string }) {
  const req = useRequest(service, (signal) =>
    api<EngineState>("GET", `/v1/services/${encodeURIComponent(service)}/engine`, { signal }),
  );
  if (req.error !== undefined) return <Text size="sm">{(req.error as Error).message}</Text>;
  if (!req.data) return <Text size="sm">…</Text>;
  return (
    <Text size="sm">
      v{req.data.policyVersion} · {req.data.enabledPolicies.toLocaleString("en")} of{" "}
      {req.data.policies.toLocaleString("en")} policies enabled · built {new Date(req.data.builtAt).toLocaleString()}
    </Text>
  );
}

/**
 * Overview: the actor's own zones first (a zone administrator's starting point), counts, each
 * service's policy version and engine state, connectors' and LDAP syncs' state, recent admin events.
 */
export function OverviewPage() {
  const mine = useMyZones();
  const readsDirectory = useCan("directory.read");
  const readsPolicies = useCan("policy.read");
  const readsAudit = useCan("audit.read");
  const services = useRequest(
    "services",
    (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }),
    readsPolicies,
  );
  const events = useRequest(
    "events",
    (signal) => api<Page<AuditEvent>>("GET", "/v1/audit/events", { query: { limit: 10 }, signal }),
    readsAudit,
  );
  return (
    <Stack>
      <Title order={2}>Overview</Title>
      <MyZonesPanel zones={mine.data} />
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        {readsDirectory && <Count label="Users" path="/v1/users" to="/users" />}
        {readsDirectory && <Count label="Groups" path="/v1/groups" to="/groups" />}
        {readsDirectory && <Count label="Roles" path="/v1/roles" to="/roles" />}
        {readsPolicies && <Count label="Zones" path="/v1/zones" to="/zones" />}
      </SimpleGrid>
      {readsPolicies && <Title order={3}>Services</Title>}
      {services.error !== undefined && <ErrorState error={services.error} onRetry={services.retry} />}
      {readsPolicies && (
        <Table.ScrollContainer minWidth={480}>
          <Table aria-label="services">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Service</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Policy version</Table.Th>
                <Table.Th>Engine</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {services.data?.items.map((s) => (
                <Table.Tr key={s.id}>
                  <Table.Td>
                    <Link to={`/policies/${encodeURIComponent(s.name)}`}>{s.name}</Link>
                  </Table.Td>
                  <Table.Td>{s.type}</Table.Td>
                  <Table.Td>{s.policyVersion}</Table.Td>
                  <Table.Td>
                    <EngineCell service={s.name} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {readsDirectory && <OverviewConnectors />}
      {readsDirectory && <OverviewSyncs />}
      {readsAudit && (
        <Group justify="space-between">
          <Title order={3}>Recent admin events</Title>
          <Link to="/audit">All events</Link>
        </Group>
      )}
      {events.error !== undefined && <ErrorState error={events.error} onRetry={events.retry} />}
      {readsAudit && (
        <Table.ScrollContainer minWidth={480}>
          <Table aria-label="recent admin events">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Time</Table.Th>
                <Table.Th>Actor</Table.Th>
                <Table.Th>Action</Table.Th>
                <Table.Th>Target</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {events.data?.items.map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td>{new Date(e.time).toLocaleString()}</Table.Td>
                  <Table.Td>{e.actor.name}</Table.Td>
                  <Table.Td>{e.action}</Table.Td>
                  <Table.Td>
                    {e.target.type} {e.target.id}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
