import { Badge, Button, Group, NativeSelect, Paper, Select, Stack, Table, Tabs, Text, Title } from "@mantine/core";
import { useState } from "react";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FilterInput } from "../components/FilterInput.tsx";
import { FormError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import { navigate, useQueryState } from "../router.ts";
import { useCan } from "../session.tsx";
import { parseResource } from "./Access.tsx";
import { PolicyEditor } from "./PolicyEditor.tsx";
import { PolicyTransfer } from "./PolicyTransfer.tsx";
import type { Policy, Service, ServiceDef } from "./types.ts";

const enc = encodeURIComponent;

function useServices() {
  return useRequest("services", (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }));
}

function ServicePicker({ service }: { service?: string }) {
  const services = useServices();
  if (services.error !== undefined) return <ErrorState error={services.error} onRetry={services.retry} />;
  return (
    <Select
      label="Service"
      placeholder="Choose a service"
      data={(services.data?.items ?? []).filter((s) => s.type !== "tag").map((s) => s.name)}
      value={service ?? null}
      onChange={(v) => v && navigate(`/policies/${enc(v)}`)}
      allowDeselect={false}
      maw={320}
    />
  );
}

function resourceSummary(p: Policy): string {
  return Object.entries(p.resources)
    .map(([k, v]) => `${k}=${v.values.join("|")}`)
    .join(", ");
}

/**
 * The policy types, as the list's tabs (URL parameter `type`) and the API's `policyType`. Each tab
 * keeps its own search, filters and page in the URL under its `prefix` (`masking.user=…`), so
 * switching tabs neither carries the access tab's filters over nor loses them.
 */
const TYPES = [
  { value: "0", label: "Access", prefix: "" },
  { value: "1", label: "Masking", prefix: "masking." },
  { value: "2", label: "Row filter", prefix: "rowfilter." },
];

/** The API's `resourceMatchScope`: policies at the searched level, above it, or both. */
const SCOPES = [
  { value: "self", label: "At this level" },
  { value: "ancestor", label: "Above it" },
  { value: "self_or_ancestor", label: "At or above it" },
];

/**
 * The resource filter (`schema=sales, table=orders`) as the API's `resource:<level>=<value>`
 * parameters, or the parts it cannot read.
 */
function resourceQuery(text: string): { query: Record<string, string>; unreadable: string[] } {
  const query: Record<string, string> = {};
  const unreadable: string[] = [];
  for (const part of text.split(",").filter((x) => x.trim() !== "")) {
    const one = parseResource(part);
    const [level, value] = Object.entries(one)[0] ?? ["", ""];
    if (!part.includes("=") || !level || !value) unreadable.push(part.trim());
    else query[`resource:${level}`] = value;
  }
  return { query, unreadable };
}

function PolicyList({ service }: { service: string }) {
  const canWrite = useCan("policy.write");
  const { get, set } = useQueryState();
  const type = TYPES.some((t) => t.value === get("type")) ? get("type") : "0";
  return (
    <Stack>
      <Tabs value={type} onChange={(v) => v && set({ type: v === "0" ? null : v })}>
        <Tabs.List aria-label="Policy type">
          {TYPES.map((t) => (
            <Tabs.Tab key={t.value} value={t.value}>
              {t.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {TYPES.map((t) => (
          <Tabs.Panel key={t.value} value={t.value} pt="sm">
            {t.value === type && <PolicyTable service={service} type={type} canWrite={canWrite} />}
          </Tabs.Panel>
        ))}
      </Tabs>
      <PolicyTransfer service={service} canWrite={canWrite} />
    </Stack>
  );
}

function PolicyTable({ service, type, canWrite }: { service: string; type: string; canWrite: boolean }) {
  const { get, set } = useQueryState();
  const tab = TYPES.find((t) => t.value === type) ?? TYPES[0];
  const kind = tab.label.toLowerCase();
  const p = tab.prefix;
  const resource = resourceQuery(get(`${p}resource`));
  const searchesResource = Object.keys(resource.query).length > 0;
  return (
    <Stack>
      <Group gap="sm" wrap="wrap" align="flex-end">
        <FilterInput name={`${p}user`} prefix={p} label="Filter by user" />
        <FilterInput name={`${p}group`} prefix={p} label="Filter by group" />
        <FilterInput name={`${p}role`} prefix={p} label="Filter by role" />
        <FilterInput name={`${p}label`} prefix={p} label="Filter by label" />
        <FilterInput
          name={`${p}resource`}
          prefix={p}
          label="Filter by resource"
          placeholder="schema=sales, table=orders"
        />
        <NativeSelect
          label="Resource match"
          size="xs"
          data={SCOPES}
          value={get(`${p}scope`) || "self"}
          onChange={(e) =>
            set(
              {
                [`${p}scope`]: e.currentTarget.value === "self" ? null : e.currentTarget.value,
                [`${p}cursor`]: null,
                [`${p}page`]: null,
              },
              { replace: true },
            )
          }
          disabled={!searchesResource}
        />
      </Group>
      {resource.unreadable.length > 0 && (
        <Text c="red.9" size="sm" role="alert">
          Filter by resource: write each part as level=value (e.g. schema=sales); not read:{" "}
          {resource.unreadable.map((u) => `“${u}”`).join(", ")}
        </Text>
      )}
      <PagedTable<Policy>
        label="policies"
        prefix={p}
        path={`/v1/services/${enc(service)}/policies`}
        searchParam="policyNamePartial"
        query={{
          policyType: type,
          user: get(`${p}user`) || undefined,
          group: get(`${p}group`) || undefined,
          role: get(`${p}role`) || undefined,
          policyLabel: get(`${p}label`) || undefined,
          ...resource.query,
          resourceMatchScope: searchesResource ? get(`${p}scope`) || undefined : undefined,
        }}
        rowKey={(p) => String(p.id)}
        toolbar={
          canWrite ? (
            <Button
              size="xs"
              onClick={() => navigate(`/policies/${enc(service)}/new${type === "0" ? "" : `?type=${type}`}`)}
            >
              New {kind === "access" ? "" : `${kind} `}policy
            </Button>
          ) : undefined
        }
        columns={[
          { header: "Name", render: (p) => <Link to={`/policies/${enc(service)}/${p.id}`}>{p.name}</Link> },
          { header: "Resources", render: (p) => <Text size="sm">{resourceSummary(p)}</Text> },
          {
            header: "State",
            render: (p) => (
              <Badge color={p.isEnabled ? "teal.9" : "gray.8"}>{p.isEnabled ? "enabled" : "disabled"}</Badge>
            ),
          },
          { header: "Version", render: (p) => p.version },
          {
            header: "Principals",
            render: (p) => {
              const items = [
                ...(p.policyItems ?? []),
                ...(p.dataMaskPolicyItems ?? []),
                ...(p.rowFilterPolicyItems ?? []),
              ];
              const names = [
                ...new Set(
                  items.flatMap((i) => [
                    ...(i.users ?? []),
                    ...(i.groups ?? []).map((g) => `group:${g}`),
                    ...(i.roles ?? []).map((r) => `role:${r}`),
                  ]),
                ),
              ];
              return <Text size="sm">{names.slice(0, 6).join(", ") + (names.length > 6 ? ", …" : "")}</Text>;
            },
          },
        ]}
      />
    </Stack>
  );
}

function useServiceDef(service: string) {
  return useRequest(`def:${service}`, async (signal) => {
    const s = await api<Service>("GET", `/v1/services/${enc(service)}`, { signal });
    return api<ServiceDef>("GET", `/v1/service-defs/${enc(s.type)}`, { signal });
  });
}

function PolicyPage({ service, id }: { service: string; id: string }) {
  const canWrite = useCan("policy.write");
  const def = useServiceDef(service);
  const isNew = id === "new";
  const newType = Number(useQueryState().get("type") || "0");
  const policy = useRequest(
    `policy:${service}:${id}`,
    (signal) => api<Policy>("GET", `/v1/services/${enc(service)}/policies/${id}`, { signal }),
    !isNew,
  );
  const [actionError, setActionError] = useState<unknown>(undefined);
  if (def.error !== undefined) return <ErrorState error={def.error} onRetry={def.retry} />;
  if (policy.error !== undefined) return <ErrorState error={policy.error} onRetry={policy.retry} />;
  if (!def.data || (!isNew && !policy.data)) return <Text c="dimmed">Loading…</Text>;
  const p = policy.data;

  const setEnabled = async (isEnabled: boolean) => {
    setActionError(undefined);
    try {
      await api("PATCH", `/v1/services/${enc(service)}/policies/${id}`, { body: { isEnabled } });
      policy.retry();
    } catch (err) {
      setActionError(err);
    }
  };
  const remove = async () => {
    if (!window.confirm(`Delete policy ${p?.name}?`)) return;
    setActionError(undefined);
    try {
      await api("DELETE", `/v1/services/${enc(service)}/policies/${id}`);
      navigate(`/policies/${enc(service)}`);
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <Stack>
      <Text size="sm">
        <Link to={`/policies/${enc(service)}`}>Policies of {service}</Link> / {isNew ? "new policy" : p?.name}
      </Text>
      <Group justify="space-between" wrap="wrap">
        <Title order={2}>
          {isNew
            ? `New ${["access", "masking", "row-filter"][newType] ?? "access"} policy in ${service}`
            : `Policy ${p?.name}`}
        </Title>
        {p && (
          <Group gap="xs">
            <Badge color={p.isEnabled ? "teal.9" : "gray.8"}>{p.isEnabled ? "enabled" : "disabled"}</Badge>
            <Text size="sm">version {p.version}</Text>
            <Link to={`/policies/${enc(service)}/${id}/versions`}>Versions</Link>
            {canWrite && (
              <>
                <Button size="xs" variant="default" onClick={() => setEnabled(!p.isEnabled)}>
                  {p.isEnabled ? "Disable" : "Enable"}
                </Button>
                <Button size="xs" color="red.9" variant="outline" onClick={remove}>
                  Delete
                </Button>
              </>
            )}
          </Group>
        )}
      </Group>
      <FormError error={actionError} />
      <PolicyEditor
        key={p ? `${p.id}:${p.version}` : "new"}
        service={service}
        def={def.data}
        policy={p}
        policyType={isNew ? newType : undefined}
        readOnly={!canWrite}
        onSaved={policy.retry}
      />
    </Stack>
  );
}

interface Version {
  version: number;
  changeType: string;
  changedBy: string;
  changedAt: string;
  current: boolean;
}

interface Diff {
  from: number;
  to: number;
  changes: { path: string; op: string; before?: unknown; after?: unknown }[];
}

const show = (v: unknown) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));

function DiffView({ id, version }: { id: string; version: number }) {
  const diff = useRequest(`diff:${id}:${version}`, (signal) =>
    api<Diff>("GET", `/v1/policies/${id}/versions/${version}/diff`, { signal }),
  );
  if (diff.error !== undefined) return <ErrorState error={diff.error} onRetry={diff.retry} />;
  if (!diff.data) return <Text c="dimmed">Loading…</Text>;
  return (
    <Paper withBorder p="sm">
      <Title order={3} size="h5" mb="xs">
        Version {diff.data.from} against the current version {diff.data.to}
      </Title>
      {diff.data.changes.length === 0 ? (
        <Text size="sm">No differences.</Text>
      ) : (
        <Table.ScrollContainer minWidth={480}>
          <Table aria-label="differences">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Field</Table.Th>
                <Table.Th>Version {diff.data.from}</Table.Th>
                <Table.Th>Current (version {diff.data.to})</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {diff.data.changes.map((c) => (
                <Table.Tr key={c.path + c.op}>
                  <Table.Td>
                    <code>{c.path}</code> ({c.op})
                  </Table.Td>
                  <Table.Td bg={c.before !== undefined ? "red.0" : undefined}>{show(c.before)}</Table.Td>
                  <Table.Td bg={c.after !== undefined ? "green.0" : undefined}>{show(c.after)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Paper>
  );
}

function VersionsPage({ service, id }: { service: string; id: string }) {
  const canWrite = useCan("policy.write");
  const { get, set } = useQueryState();
  const [reload, setReload] = useState(0);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState("");
  const versions = useRequest(`versions:${id}:${reload}`, (signal) =>
    api<{ items: Version[] }>("GET", `/v1/policies/${id}/versions`, { signal }),
  );
  const selected = Number(get("diff") || "0");
  const revert = async (version: number) => {
    setError(undefined);
    try {
      const p = await api<Policy>("POST", `/v1/policies/${id}/revert`, { body: { version } });
      setDone(`Reverted to version ${version}: now version ${p.version}`);
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      <Text size="sm">
        <Link to={`/policies/${enc(service)}`}>Policies of {service}</Link> /{" "}
        <Link to={`/policies/${enc(service)}/${id}`}>policy {id}</Link> / versions
      </Text>
      <Title order={2}>Versions of policy {id}</Title>
      {versions.error !== undefined && <ErrorState error={versions.error} onRetry={versions.retry} />}
      <FormError error={error} />
      {done && (
        <Text role="status" c="teal.9">
          {done}
        </Text>
      )}
      <Table.ScrollContainer minWidth={480}>
        <Table aria-label="versions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>Change</Table.Th>
              <Table.Th>By</Table.Th>
              <Table.Th>When</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {versions.data?.items.map((v) => (
              <Table.Tr key={v.version}>
                <Table.Td>
                  {v.version} {v.current && <Badge size="xs">current</Badge>}
                </Table.Td>
                <Table.Td>{v.changeType}</Table.Td>
                <Table.Td>{v.changedBy}</Table.Td>
                <Table.Td>{new Date(v.changedAt).toLocaleString()}</Table.Td>
                <Table.Td>
                  {!v.current && (
                    <Group gap="xs">
                      <Button size="compact-xs" variant="default" onClick={() => set({ diff: String(v.version) })}>
                        Diff version {v.version}
                      </Button>
                      {canWrite && (
                        <Button size="compact-xs" color="red.9" variant="outline" onClick={() => revert(v.version)}>
                          Revert to version {v.version}
                        </Button>
                      )}
                    </Group>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {selected > 0 && <DiffView key={`${selected}:${reload}`} id={id} version={selected} />}
    </Stack>
  );
}

/** Policies per service: a searchable list, the editor, versions with diff and revert. */
export function PoliciesPage({ service, id, view }: { service?: string; id?: string; view?: string }) {
  if (service && id && view === "versions") return <VersionsPage service={service} id={id} />;
  if (service && id) return <PolicyPage service={service} id={id} />;
  return (
    <Stack>
      <Title order={2}>Policies</Title>
      <ServicePicker service={service} />
      {service ? <PolicyList service={service} /> : <Text c="dimmed">Choose a service to see its policies.</Text>}
    </Stack>
  );
}
