import { Badge, Code, Stack, Text, Title } from "@mantine/core";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import type { Role, Service, ServiceDef } from "./types.ts";

/** Roles: built-in and custom, their permissions and composites. */
export function RolesPage() {
  return (
    <Stack>
      <Title order={2}>Roles</Title>
      <PagedTable<Role>
        label="roles"
        path="/v1/roles"
        searchParam="prefix"
        rowKey={(r) => r.id}
        columns={[
          { header: "Name", render: (r) => r.name },
          { header: "Kind", render: (r) => (r.builtin ? <Badge>built-in</Badge> : "custom") },
          { header: "Permissions", render: (r) => r.permissions.join(", ") },
          { header: "Composites", render: (r) => r.composites.length },
          { header: "Description", render: (r) => r.description },
        ]}
      />
    </Stack>
  );
}

interface Zone {
  id: number;
  name: string;
  description: string;
  services: Record<string, { resources: Record<string, string[]>[] }>;
  adminUsers: string[];
}

/** Security zones and the resources they claim per service. */
export function ZonesPage() {
  return (
    <Stack>
      <Title order={2}>Zones</Title>
      <PagedTable<Zone>
        label="zones"
        path="/v1/zones"
        rowKey={(z) => String(z.id)}
        columns={[
          { header: "Name", render: (z) => z.name },
          { header: "Description", render: (z) => z.description },
          {
            header: "Services",
            render: (z) => (
              <Text size="xs">
                {Object.entries(z.services)
                  .map(([s, v]) => `${s}: ${v.resources.map((r) => JSON.stringify(r)).join(" ")}`)
                  .join("; ")}
              </Text>
            ),
          },
          { header: "Admins", render: (z) => z.adminUsers.join(", ") },
        ]}
      />
    </Stack>
  );
}

interface TagDef {
  id: number;
  name: string;
  attributeDefs: { name: string; type?: string }[];
}

/** Tag types. */
export function TagsPage() {
  return (
    <Stack>
      <Title order={2}>Tags</Title>
      <PagedTable<TagDef>
        label="tag types"
        path="/v1/tag-defs"
        rowKey={(t) => String(t.id)}
        columns={[
          { header: "Tag type", render: (t) => t.name },
          {
            header: "Attributes",
            render: (t) => t.attributeDefs.map((a) => `${a.name}${a.type ? `: ${a.type}` : ""}`).join(", "),
          },
        ]}
      />
    </Stack>
  );
}

/** Services with their policy versions, and the service-defs they follow. */
export function ServicesPage() {
  const services = useRequest("services", (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }));
  const defs = useRequest("defs", (signal) => api<{ items: ServiceDef[] }>("GET", "/v1/service-defs", { signal }));
  return (
    <Stack>
      <Title order={2}>Services</Title>
      {services.error !== undefined && <ErrorState error={services.error} onRetry={services.retry} />}
      <Text size="sm" c="dimmed">
        {services.data ? `${services.data.items.length} services` : "…"}
      </Text>
      {services.data?.items.map((s) => (
        <Text key={s.id}>
          <Link to={`/policies/${encodeURIComponent(s.name)}`}>{s.name}</Link> ({s.type}) · policy version{" "}
          {s.policyVersion} · {s.isEnabled ? "enabled" : "disabled"}
          {s.tagService ? ` · tags from ${s.tagService}` : ""}
        </Text>
      ))}
      <Title order={3}>Service definitions</Title>
      {defs.error !== undefined && <ErrorState error={defs.error} onRetry={defs.retry} />}
      {defs.data?.items.map((d) => (
        <div key={d.name}>
          <Text fw={600}>{d.name}</Text>
          <Text size="sm">
            Resources: <Code>{d.resources.map((r) => r.name).join(", ")}</Code>
          </Text>
          <Text size="sm">
            Access types: <Code>{d.accessTypes.map((a) => a.name).join(", ")}</Code>
          </Text>
        </div>
      ))}
    </Stack>
  );
}
