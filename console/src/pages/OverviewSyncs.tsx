import { Table, Text, Title } from "@mantine/core";
import { api, type Page } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { Link } from "../components/Link.tsx";
import { useRequest } from "../components/useRequest.ts";
import { useQueryState } from "../router.ts";

/** An identity source, narrowed to what the overview shows. */
interface IdentitySource {
  id: string;
  name: string;
  config: { syncSchedule?: string | null };
}

/** A sync run, narrowed. */
interface SyncRun {
  status: "running" | "succeeded" | "failed";
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/** The newest sync run of a source (`…/sync-runs?limit=1`). */
function LastRun({ id }: { id: string }) {
  const req = useRequest(`last-run:${id}`, (signal) =>
    api<Page<SyncRun>>("GET", `/v1/identity-sources/${id}/sync-runs`, { query: { limit: 1 }, signal }),
  );
  if (req.error !== undefined) return <Text size="sm">{(req.error as Error).message}</Text>;
  if (!req.data) return <Text size="sm">…</Text>;
  const run = req.data.items[0];
  if (!run) return <Text size="sm">never synced</Text>;
  return (
    <Text size="sm">
      <Text span fw={700} c={run.status === "failed" ? "red.9" : undefined}>
        {run.status}
      </Text>{" "}
      {run.trigger} · {new Date(run.finishedAt ?? run.startedAt).toLocaleString()}
      {run.error ? ` · ${run.error}` : ""}
    </Text>
  );
}

/**
 * LDAP syncs: the first ten identity sources with their schedule and newest run, each linking to
 * its page (where runs are listed and started); the total says how many there are. The organisation
 * is the actor's, or `?org=<id>` as on the users and groups pages.
 */
export function OverviewSyncs() {
  const org = useQueryState().get("org");
  const req = useRequest(`overview-sources:${org}`, (signal) =>
    api<Page<IdentitySource>>("GET", "/v1/identity-sources", { query: { limit: 10, orgId: org || undefined }, signal }),
  );
  return (
    <section aria-label="LDAP syncs">
      <Title order={3} mb="xs">
        LDAP syncs
      </Title>
      {req.error !== undefined && <ErrorState error={req.error} onRetry={req.retry} />}
      {req.data && req.data.total === 0 && (
        <Text size="sm" c="dimmed">
          No identity sources are registered.
        </Text>
      )}
      {req.data && req.data.total > 0 && (
        <>
          <Text size="sm" c="dimmed">
            {req.data.total.toLocaleString("en")} identity sources
            {req.data.total > req.data.items.length ? `, the first ${req.data.items.length} shown` : ""}
          </Text>
          <div>
            <Link to="/identity-sources">All identity sources</Link>
          </div>
          <Table.ScrollContainer minWidth={480}>
            <Table aria-label="LDAP syncs" data-testid="syncs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Identity source</Table.Th>
                  <Table.Th>Schedule</Table.Th>
                  <Table.Th>Newest run</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {req.data.items.map((s) => (
                  <Table.Tr key={s.id}>
                    <Table.Td>
                      <Link to={`/identity-sources/${s.id}`}>{s.name}</Link>
                    </Table.Td>
                    <Table.Td>{s.config.syncSchedule ?? "by hand only"}</Table.Td>
                    <Table.Td>
                      <LastRun id={s.id} />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      )}
    </section>
  );
}
