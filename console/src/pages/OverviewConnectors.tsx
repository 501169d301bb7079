import { Table, Text, Title } from "@mantine/core";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { Link } from "../components/Link.tsx";
import { useRequest } from "../components/useRequest.ts";

/** A connector as `GET /v1/connectors` answers it (secrets are never returned). */
interface Connector {
  id: string;
  name: string;
  kind: string;
  enabled: boolean;
  config: { baseUrl: string };
}

/** `GET /v1/connectors/{id}/status`. */
interface ConnectorStatus {
  pending: number;
  failing: number;
  deadLettered: number;
  lagSeconds: number;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}

/** One connector's delivery state: what waits, what fails, what was parked, and the last error. */
function StatusCell({ id }: { id: string }) {
  const req = useRequest(`connector-status:${id}`, (signal) =>
    api<ConnectorStatus>("GET", `/v1/connectors/${id}/status`, { signal }),
  );
  if (req.error !== undefined) return <Text size="sm">{(req.error as Error).message}</Text>;
  const s = req.data;
  if (!s) return <Text size="sm">…</Text>;
  const healthy = s.failing === 0 && s.deadLettered === 0;
  return (
    <Text size="sm">
      <Text span fw={700} c={healthy ? undefined : "red.9"}>
        {healthy ? (s.pending === 0 ? "in sync" : "delivering") : "failing"}
      </Text>{" "}
      {s.pending} pending · {s.failing} failing · {s.deadLettered} dead-lettered
      {s.lagSeconds > 0 ? ` · ${Math.round(s.lagSeconds)} s behind` : ""}
      {s.lastSuccessAt ? ` · last delivery ${new Date(s.lastSuccessAt).toLocaleString()}` : ""}
      {s.lastError ? ` · last error: ${s.lastError}` : ""}
    </Text>
  );
}

/**
 * The outbound connectors (`GET /v1/connectors`, a handful per deployment) and each one's delivery
 * state (`…/status`); each links to its audit trail. Says so when none is configured.
 */
export function OverviewConnectors() {
  const req = useRequest("connectors", (signal) => api<{ items: Connector[] }>("GET", "/v1/connectors", { signal }));
  return (
    <section aria-label="connectors">
      <Title order={3} mb="xs">
        Connectors
      </Title>
      {req.error !== undefined && <ErrorState error={req.error} onRetry={req.retry} />}
      {req.data && req.data.items.length === 0 && (
        <Text size="sm" c="dimmed">
          No connectors are configured.
        </Text>
      )}
      {req.data && req.data.items.length > 0 && (
        <Table.ScrollContainer minWidth={480}>
          <Table aria-label="connectors" data-testid="connectors">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Connector</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Target</Table.Th>
                <Table.Th>State</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {req.data.items.map((c) => (
                <Table.Tr key={c.id}>
                  <Table.Td>
                    <Link to={`/audit?targetType=connector&targetId=${c.id}`}>{c.name}</Link>
                  </Table.Td>
                  <Table.Td>{c.kind}</Table.Td>
                  <Table.Td>{c.config.baseUrl}</Table.Td>
                  <Table.Td>{c.enabled ? <StatusCell id={c.id} /> : <Text size="sm">disabled</Text>}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </section>
  );
}
