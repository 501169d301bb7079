import { Badge, Group, NativeSelect, Paper, Text, Title } from "@mantine/core";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { Link } from "../components/Link.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import { useQueryState } from "../router.ts";
import { useCan } from "../session.tsx";
import type { Service } from "./types.ts";

/** One policy item reaching the user, as `GET /v1/users/{id}/access` lists it. */
interface Grant {
  policyId: number;
  policyName: string;
  policyType: number;
  effect: "allow" | "deny";
  resources: Record<string, { values: string[]; isExcludes?: boolean }>;
  accessTypes: string[];
  via: { type: "user" | "group" | "role" | "public"; name: string; throughGroup?: string };
  conditional: boolean;
}

const POLICY_KINDS = ["access", "masking", "row filter"];

const resourceText = (resources: Grant["resources"]) =>
  Object.entries(resources)
    .map(([k, r]) => `${k}=${r.isExcludes ? "not " : ""}${r.values.join("|")}`)
    .join(", ");

const viaText = (v: Grant["via"]) =>
  v.type === "user"
    ? "named directly"
    : v.type === "public"
      ? "public (everyone)"
      : v.type === "role"
        ? `role ${v.name}`
        : `group ${v.name}${v.throughGroup ? ` (through ${v.throughGroup})` : ""}`;

/**
 * "What this user can access" in one service (`GET /v1/users/{id}/access?service=…`, paged): every
 * enabled policy item reaching the user, with its resources, access types, allow or deny, and how
 * it reaches them. The service lives in the URL (`?service=`). It is `decision.check` on the server.
 */
export function UserAccess({ userId }: { userId: string }) {
  const canCheck = useCan("decision.check");
  const { get, set } = useQueryState();
  const service = get("service");
  // the API lists services unpaged (a deployment has a handful, not thousands)
  const services = useRequest(
    "services",
    (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }),
    canCheck,
  );
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        What this user can access
      </Title>
      {!canCheck ? (
        <Text size="sm" c="dimmed">
          This needs the decision.check ability, which this session does not hold.
        </Text>
      ) : (
        <>
          {services.error !== undefined && <ErrorState error={services.error} onRetry={services.retry} />}
          <Group mb="sm">
            <NativeSelect
              label="Service"
              data={[
                { value: "", label: "Choose a service" },
                ...(services.data?.items ?? [])
                  .filter((s) => s.type !== "tag")
                  .map((s) => ({ value: s.name, label: s.name })),
              ]}
              value={service}
              onChange={(e) => set({ service: e.currentTarget.value, acursor: null, apage: null })}
            />
          </Group>
          {service && (
            <PagedTable<Grant>
              label="policy items reaching this user"
              prefix="a"
              path={`/v1/users/${encodeURIComponent(userId)}/access`}
              query={{ service }}
              limit={20}
              rowKey={(g) =>
                `${g.policyId}:${g.effect}:${g.via.type}:${g.via.name}:${g.accessTypes.join(",")}:${resourceText(g.resources)}`
              }
              columns={[
                {
                  header: "Policy",
                  render: (g) => (
                    <Link to={`/policies/${encodeURIComponent(service)}/${g.policyId}`}>{g.policyName}</Link>
                  ),
                },
                { header: "Kind", render: (g) => POLICY_KINDS[g.policyType] ?? String(g.policyType) },
                {
                  header: "Effect",
                  render: (g) => (
                    <Badge color={g.effect === "allow" ? "teal.9" : "red.9"} variant="outline">
                      {g.effect}
                      {g.conditional ? " (conditional)" : ""}
                    </Badge>
                  ),
                },
                { header: "Resources", render: (g) => <code>{resourceText(g.resources)}</code> },
                { header: "Access types", render: (g) => g.accessTypes.join(", ") },
                { header: "Through", render: (g) => viaText(g.via) },
              ]}
            />
          )}
        </>
      )}
    </Paper>
  );
}
