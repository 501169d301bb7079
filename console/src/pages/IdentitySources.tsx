import { Badge, Button, Group, List, Paper, SegmentedControl, Stack, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import { navigate, useQueryState } from "../router.ts";
import { useCan } from "../session.tsx";
import { DirectoryGroupMembers } from "./DirectoryGroupMembers.tsx";
import { type IdentitySource, IdentitySourceForm } from "./IdentitySourceForm.tsx";

/** `POST /v1/identity-sources/{id}/test`'s answer: every step of the connection. */
interface SourceTest {
  ok: boolean;
  steps: { step: string; ok: boolean; message: string }[];
  users: number | null;
  groups: number | null;
  durationMs: number;
}

/** A sync run (`/sync-runs`), with the counts of what it changed and the conflicts it found. */
interface SyncRun {
  id: string;
  mode: string;
  dryRun: boolean;
  trigger: string;
  status: "running" | "succeeded" | "failed";
  phase: string;
  counts: Record<string, number>;
  changes: Record<string, unknown>[];
  conflicts: Record<string, unknown>[];
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

const countsText = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n.toLocaleString("en")}`)
    .join(", ") || "no changes";

const statusColor = { running: "blue.9", succeeded: "teal.9", failed: "red.9" } as const;

/** A run's counts, its error, and its conflicts and first changes as tables of their fields. */
function RunDetail({ run }: { run: SyncRun }) {
  const table = (label: string, rows: Record<string, unknown>[]) => {
    const keys = [...new Set(rows.slice(0, 100).flatMap((r) => Object.keys(r)))];
    return (
      <Table.ScrollContainer minWidth={480}>
        <Table aria-label={label} striped>
          <Table.Thead>
            <Table.Tr>
              {keys.map((k) => (
                <Table.Th key={k}>{k}</Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.slice(0, 100).map((r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of a report, in the server's order
              <Table.Tr key={i}>
                {keys.map((k) => (
                  <Table.Td key={k}>
                    {typeof r[k] === "string" ? (r[k] as string) : JSON.stringify(r[k] ?? "")}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    );
  };
  return (
    <Paper withBorder p="sm" data-testid="sync-run">
      <Group gap="xs" mb="xs">
        <Title order={3} size="h5">
          {run.dryRun ? "Preview" : "Run"} of {new Date(run.startedAt).toLocaleString()}
        </Title>
        <Badge color={statusColor[run.status]}>{run.status}</Badge>
        <Text size="sm">
          {run.mode}, {run.trigger}
          {run.durationMs !== null ? `, ${run.durationMs.toLocaleString("en")} ms` : `, ${run.phase}`}
        </Text>
      </Group>
      <Text size="sm">Counts: {countsText(run.counts)}</Text>
      {run.error && (
        <Text size="sm" c="red.9" role="alert">
          {run.error}
        </Text>
      )}
      <Text size="sm" fw={600} mt="xs">
        Conflicts ({run.conflicts.length.toLocaleString("en")})
      </Text>
      {run.conflicts.length > 0 && table("conflicts", run.conflicts)}
      {run.changes.length > 0 && (
        <>
          <Text size="sm" fw={600} mt="xs">
            Changes ({run.changes.length.toLocaleString("en")}
            {run.changes.length >= 1000 ? ", the first 1,000" : ""})
          </Text>
          {table("changes", run.changes)}
        </>
      )}
    </Paper>
  );
}

function SourceDetail({ id }: { id: string }) {
  const canWrite = useCan("directory.write");
  const { get, set } = useQueryState();
  const kind = get("kind") === "groups" ? "groups" : "users";
  const runId = get("run");
  const membersOf = get("members");
  const [editing, setEditing] = useState(false);
  const [reload, setReload] = useState(0);
  const [busy, setBusy] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [test, setTest] = useState<SourceTest | null>(null);
  const [preview, setPreview] = useState<SyncRun | null>(null);
  const source = useRequest(`source:${id}`, (signal) =>
    api<IdentitySource>("GET", `/v1/identity-sources/${id}`, { signal }),
  );
  const run = useRequest(
    `run:${id}:${runId}:${reload}`,
    (signal) => api<SyncRun>("GET", `/v1/identity-sources/${id}/sync-runs/${runId}`, { signal }),
    runId !== "",
  );

  const act = async (name: string, action: () => Promise<void>) => {
    setBusy(name);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy("");
    }
  };
  const testConnection = () =>
    act("test", async () => {
      setTest(await api<SourceTest>("POST", `/v1/identity-sources/${id}/test`, { timeoutMs: 120_000 }));
    });
  const previewSync = () =>
    act("preview", async () => {
      setPreview(
        await api<SyncRun>("POST", `/v1/identity-sources/${id}/sync`, { query: { dryRun: true }, timeoutMs: 300_000 }),
      );
    });
  const syncNow = () =>
    act("sync", async () => {
      const started = await api<SyncRun>("POST", `/v1/identity-sources/${id}/sync`);
      setPreview(null);
      set({ run: started.id });
      setReload((n) => n + 1);
    });

  if (source.error !== undefined) return <ErrorState error={source.error} onRetry={source.retry} />;
  const s = source.data;
  return (
    <Stack>
      <Text size="sm">
        <Link to="/identity-sources">Identity sources</Link> / {s?.name ?? "…"}
      </Text>
      <Title order={2}>Identity source {s?.name ?? ""}</Title>
      {s && (
        <Text size="sm">
          {s.kind} {s.config.url} · base {s.config.baseDn} · bind {s.config.bindDn || "anonymous"} · credential{" "}
          {s.credential.kind}
          {s.credential.env ? ` (${s.credential.env})` : ""} · schedule {s.config.syncSchedule ?? "none"}
        </Text>
      )}
      {canWrite && s && editing && (
        <Paper withBorder p="md">
          <IdentitySourceForm
            source={s}
            onSaved={() => {
              setEditing(false);
              source.retry();
            }}
            onCancel={() => setEditing(false)}
          />
        </Paper>
      )}
      {canWrite && (
        <Group gap="xs">
          {!editing && (
            <Button size="xs" variant="default" onClick={() => setEditing(true)}>
              Edit settings
            </Button>
          )}
          <Button size="xs" variant="default" onClick={testConnection} loading={busy === "test"}>
            Test connection
          </Button>
          <Button size="xs" variant="default" onClick={previewSync} loading={busy === "preview"}>
            Preview sync (dry run)
          </Button>
          <Button size="xs" onClick={syncNow} loading={busy === "sync"}>
            Sync now
          </Button>
        </Group>
      )}
      <FormError error={error} />
      {test && (
        <Paper withBorder p="sm" role="status" aria-label="Connection test">
          <Text size="sm" fw={600} c={test.ok ? "teal.9" : "red.9"}>
            {test.ok ? "Connected" : "The connection failed"} in {test.durationMs.toLocaleString("en")} ms
            {test.users !== null ? ` · ${test.users.toLocaleString("en")} users` : ""}
            {test.groups !== null ? ` · ${test.groups.toLocaleString("en")} groups` : ""}
          </Text>
          <List size="sm">
            {test.steps.map((step) => (
              <List.Item key={step.step}>
                {step.ok ? "ok" : "failed"}: {step.step}: {step.message}
              </List.Item>
            ))}
          </List>
        </Paper>
      )}
      {preview && <RunDetail run={preview} />}

      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          Search the directory
        </Title>
        <SegmentedControl
          mb="sm"
          aria-label="Directory entries"
          value={kind}
          onChange={(v) =>
            set({ kind: v === "users" ? null : v, dq: null, dcursor: null, dpage: null, members: null, nested: null })
          }
          data={[
            { value: "users", label: "Users" },
            { value: "groups", label: "Groups" },
          ]}
        />
        {kind === "users" ? (
          <PagedTable<{ dn: string; username: string | null; email: string | null; displayName: string | null }>
            key="users"
            label="directory users"
            prefix="d"
            path={`/v1/identity-sources/${id}/users`}
            searchParam="search"
            limit={20}
            rowKey={(u) => u.dn}
            columns={[
              { header: "Username", render: (u) => u.username ?? "" },
              { header: "Display name", render: (u) => u.displayName ?? "" },
              { header: "Email", render: (u) => u.email ?? "" },
              { header: "DN", render: (u) => <code>{u.dn}</code> },
            ]}
          />
        ) : (
          <PagedTable<{ dn: string; name: string | null; description: string | null }>
            key="groups"
            label="directory groups"
            prefix="d"
            path={`/v1/identity-sources/${id}/groups`}
            searchParam="search"
            limit={20}
            rowKey={(g) => g.dn}
            columns={[
              { header: "Name", render: (g) => g.name ?? "" },
              { header: "Description", render: (g) => g.description ?? "" },
              { header: "DN", render: (g) => <code>{g.dn}</code> },
              {
                header: "Members",
                render: (g) => (
                  <Button
                    size="compact-xs"
                    variant="default"
                    onClick={() => set({ members: g.dn, dmcursor: null, dmpage: null })}
                  >
                    Members of {g.name ?? g.dn}
                  </Button>
                ),
              },
            ]}
          />
        )}
        {membersOf && (
          <DirectoryGroupMembers
            sourceId={id}
            dn={membersOf}
            onClose={() => set({ members: null, dmcursor: null, dmpage: null, nested: null })}
          />
        )}
      </Paper>

      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          Sync runs
        </Title>
        {run.error !== undefined && <ErrorState error={run.error} onRetry={run.retry} />}
        {run.data && (
          <Stack gap="xs" mb="sm">
            <RunDetail run={run.data} />
            <Group gap="xs">
              {run.data.status === "running" && (
                <Button size="xs" variant="default" onClick={() => setReload((n) => n + 1)}>
                  Refresh progress
                </Button>
              )}
              <Button size="xs" variant="default" onClick={() => set({ run: null })}>
                Close run
              </Button>
            </Group>
          </Stack>
        )}
        <PagedTable<SyncRun>
          label="sync runs"
          prefix="r"
          path={`/v1/identity-sources/${id}/sync-runs`}
          reloadKey={reload}
          limit={10}
          rowKey={(r) => r.id}
          columns={[
            {
              header: "Started",
              render: (r) => (
                <Link to={`/identity-sources/${id}?run=${r.id}`}>{new Date(r.startedAt).toLocaleString()}</Link>
              ),
            },
            { header: "Status", render: (r) => <Badge color={statusColor[r.status]}>{r.status}</Badge> },
            { header: "Mode", render: (r) => `${r.mode}${r.dryRun ? " (dry run)" : ""}, ${r.trigger}` },
            { header: "Counts", render: (r) => countsText(r.counts) },
            { header: "Conflicts", render: (r) => r.conflicts.length.toLocaleString("en") },
          ]}
        />
      </Paper>
    </Stack>
  );
}

/**
 * Directory → identity sources: the LDAP directories Gatehouse reads, each with its connection
 * test, a search of the directory's users and groups, "sync now" (which imports them) with a dry
 * run first, and its sync runs with their counts and conflicts.
 */
export function IdentitySourcesPage({ id }: { id?: string }) {
  const canWrite = useCan("directory.write");
  const [registering, setRegistering] = useState(false);
  if (id) return <SourceDetail id={id} />;
  return (
    <Stack>
      <Title order={2}>Identity sources</Title>
      {canWrite && !registering && (
        <Group>
          <Button onClick={() => setRegistering(true)}>Register an identity source</Button>
        </Group>
      )}
      {canWrite && registering && (
        <Paper withBorder p="md">
          <IdentitySourceForm
            onSaved={(saved) => navigate(`/identity-sources/${saved.id}`)}
            onCancel={() => setRegistering(false)}
          />
        </Paper>
      )}
      <PagedTable<IdentitySource>
        label="identity sources"
        path="/v1/identity-sources"
        rowKey={(s) => s.id}
        columns={[
          { header: "Name", render: (s) => <Link to={`/identity-sources/${s.id}`}>{s.name}</Link> },
          { header: "Kind", render: (s) => s.kind },
          { header: "URL", render: (s) => s.config.url ?? "" },
          { header: "Base DN", render: (s) => s.config.baseDn ?? "" },
          { header: "Schedule", render: (s) => s.config.syncSchedule ?? "none" },
        ]}
      />
    </Stack>
  );
}
