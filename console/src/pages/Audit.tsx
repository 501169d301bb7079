import { Group, SegmentedControl, Stack, Text, Title } from "@mantine/core";
import { DateTimeFilter } from "../components/DateTimeFilter.tsx";
import { FilterInput } from "../components/FilterInput.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useQueryState } from "../router.ts";
import type { AuditEvent } from "./types.ts";

interface DecisionRecord {
  id: string;
  time: string;
  service: string;
  user: string;
  accessType: string;
  resource: unknown;
  result: string;
  policyId: number | null;
}

const short = (v: unknown) => {
  const s = v === null || v === undefined ? "" : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
};

/** Audit: admin events and the decision log, filtered (in the URL) and server-paged. */
export function AuditPage() {
  const { get, set } = useQueryState();
  const tab = get("log") || "admin";
  return (
    <Stack>
      <Title order={2}>Audit</Title>
      <SegmentedControl
        aria-label="Which log"
        value={tab}
        onChange={(v) => set({ log: v === "admin" ? null : v, cursor: null, page: null })}
        data={[
          { value: "admin", label: "Admin events" },
          { value: "decisions", label: "Decision log" },
        ]}
        maw={320}
      />
      {tab === "admin" ? (
        <>
          <Group gap="sm" wrap="wrap" align="flex-end">
            <FilterInput name="actor" label="Actor" />
            <FilterInput name="action" label="Action" placeholder="policy.created" />
            <FilterInput name="targetType" label="Target type" />
            <FilterInput name="targetId" label="Target id" />
            <DateTimeFilter name="from" label="From" />
            <DateTimeFilter name="to" label="To" />
          </Group>
          <PagedTable<AuditEvent>
            label="admin events"
            path="/v1/audit/events"
            query={Object.fromEntries(
              ["actor", "action", "targetType", "targetId", "from", "to"].map((k) => [k, get(k) || undefined]),
            )}
            rowKey={(e) => e.id}
            columns={[
              { header: "Time", render: (e) => new Date(e.time).toLocaleString() },
              { header: "Actor", render: (e) => e.actor.name },
              { header: "Action", render: (e) => e.action },
              { header: "Target", render: (e) => `${e.target.type} ${e.target.id}` },
              { header: "Change", render: (e) => <Text size="xs">{short(e.after ?? e.before)}</Text> },
            ]}
          />
        </>
      ) : (
        <>
          <Group gap="sm" wrap="wrap" align="flex-end">
            <FilterInput name="service" label="Service" />
            <FilterInput name="user" label="User" />
            <FilterInput name="resource" label="Resource" />
            <FilterInput name="result" label="Result" placeholder="allowed or denied" />
          </Group>
          <PagedTable<DecisionRecord>
            label="decisions"
            path="/v1/audit/decisions"
            query={Object.fromEntries(["service", "user", "resource", "result"].map((k) => [k, get(k) || undefined]))}
            rowKey={(d) => d.id}
            columns={[
              { header: "Time", render: (d) => new Date(d.time).toLocaleString() },
              { header: "Service", render: (d) => d.service },
              { header: "User", render: (d) => d.user },
              { header: "Access", render: (d) => d.accessType },
              { header: "Resource", render: (d) => <Text size="xs">{short(d.resource)}</Text> },
              { header: "Result", render: (d) => d.result },
            ]}
          />
        </>
      )}
    </Stack>
  );
}
