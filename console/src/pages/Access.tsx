import { Alert, Badge, Button, Group, Paper, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { fieldError } from "../components/FormError.tsx";
import { useRequest } from "../components/useRequest.ts";
import { useQueryState } from "../router.ts";
import type { Service } from "./types.ts";

interface Candidate {
  policyId: number;
  policyName: string;
  resourceMatched: boolean;
  decided: boolean;
  verdict?: string;
  reason?: string;
}

interface Explained {
  decision: { allowed: boolean; determined: boolean; policyId: number | null; policyVersion?: number; reason?: string };
  explanation?: { trace?: { candidates?: Candidate[]; decidedBy?: { policyId: number | null; reason: string } } };
}

interface WhoCan {
  users: { name: string; accesses: { accessType: string; result: string; policyId: number | null }[] }[];
  groups: { name: string; accesses: { accessType: string; result: string; policyId: number | null }[] }[];
  roles: { name: string; accesses: { accessType: string; result: string; policyId: number | null }[] }[];
}

/** `catalog=sales, schema=eu` → `{catalog: "sales", schema: "eu"}`; the policy list's resource filter reads it too. */
export function parseResource(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const [k, ...v] = part.split("=");
    if (k?.trim()) out[k.trim()] = v.join("=").trim();
  }
  return out;
}

function ServiceSelect({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const services = useRequest("services", (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }));
  if (services.error !== undefined) return <ErrorState error={services.error} onRetry={services.retry} />;
  return (
    <Select
      label="Service"
      required
      data={(services.data?.items ?? []).filter((s) => s.type !== "tag").map((s) => s.name)}
      value={value || null}
      onChange={(v) => onChange(v ?? "")}
      allowDeselect={false}
    />
  );
}

function Simulator() {
  const { get, set } = useQueryState();
  const [form, setForm] = useState({
    service: get("service"),
    user: get("user"),
    access: get("access") || "select",
    resource: get("resource"),
  });
  const [result, setResult] = useState<Explained | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    set({ service: form.service, user: form.user, access: form.access, resource: form.resource }, { replace: true });
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      setResult(
        await api<Explained>("POST", "/v1/decisions:explain", {
          body: {
            service: form.service,
            user: form.user.trim(),
            accessType: form.access.trim(),
            resource: parseResource(form.resource),
          },
        }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const candidates = result?.explanation?.trace?.candidates ?? [];
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Decision simulator
      </Title>
      <form onSubmit={run} aria-label="Decision simulator">
        <Group align="flex-start" grow wrap="wrap">
          <ServiceSelect value={form.service} onChange={(service) => setForm({ ...form, service })} />
          <TextInput
            label="User"
            required
            value={form.user}
            onChange={(e) => setForm({ ...form, user: e.currentTarget.value })}
            error={fieldError(error, "body.user")}
          />
          <TextInput
            label="Access type"
            required
            value={form.access}
            onChange={(e) => setForm({ ...form, access: e.currentTarget.value })}
            error={fieldError(error, "body.accessType")}
          />
          <TextInput
            label="Resource"
            placeholder="catalog=sales, schema=eu, table=orders"
            required
            value={form.resource}
            onChange={(e) => setForm({ ...form, resource: e.currentTarget.value })}
            error={fieldError(error, "body.resource")}
          />
        </Group>
        <Group mt="sm">
          <Button type="submit" loading={busy}>
            Check access
          </Button>
        </Group>
      </form>
      {error !== undefined && !["body.user", "body.accessType", "body.resource"].some((f) => fieldError(error, f)) && (
        <ErrorState error={error} />
      )}
      {result && (
        <Stack mt="md" gap="xs">
          <Alert
            color={result.decision.allowed ? "teal.9" : "red.9"}
            variant="filled"
            title={result.decision.allowed ? "ALLOWED" : "DENIED"}
            data-testid="decision"
          >
            {form.user} {result.decision.allowed ? "may" : "may not"} {form.access} {form.resource}
            {result.decision.reason ? `: ${result.decision.reason}` : ""}
            {result.decision.policyId !== null && result.decision.policyId !== undefined
              ? ` (deciding policy ${result.decision.policyId}${result.decision.policyVersion ? ` version ${result.decision.policyVersion}` : ""})`
              : " (no policy decided: denied by default)"}
          </Alert>
          {candidates.length > 0 && (
            <Table.ScrollContainer minWidth={480}>
              <Table aria-label="policies considered">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Policy</Table.Th>
                    <Table.Th>Resource matched</Table.Th>
                    <Table.Th>Verdict</Table.Th>
                    <Table.Th>Why</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {candidates.map((c) => (
                    <Table.Tr key={c.policyId}>
                      <Table.Td>
                        {c.policyName} ({c.policyId}) {c.decided && <Badge size="xs">decided</Badge>}
                      </Table.Td>
                      <Table.Td>{c.resourceMatched ? "yes" : "no"}</Table.Td>
                      <Table.Td>{c.verdict ?? "none"}</Table.Td>
                      <Table.Td>{c.reason ?? ""}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </Stack>
      )}
    </Paper>
  );
}

function WhoCanAccess() {
  const [service, setService] = useState("");
  const [resource, setResource] = useState("");
  const [result, setResult] = useState<WhoCan | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setResult(undefined);
    try {
      const r = Object.entries(parseResource(resource))
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      setResult(
        await api<WhoCan>("GET", `/v1/services/${encodeURIComponent(service)}/access`, { query: { resource: r } }),
      );
    } catch (err) {
      setError(err);
    }
  };
  const rows = result
    ? [
        ...result.users.map((x) => ({ kind: "user", ...x })),
        ...result.groups.map((x) => ({ kind: "group", ...x })),
        ...result.roles.map((x) => ({ kind: "role", ...x })),
      ]
    : [];
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        Who can access
      </Title>
      <form onSubmit={run} aria-label="Who can access">
        <Group align="flex-start" grow wrap="wrap">
          <ServiceSelect value={service} onChange={setService} />
          <TextInput
            label="Resource of who-can-access"
            placeholder="catalog=sales, schema=eu"
            required
            value={resource}
            onChange={(e) => setResource(e.currentTarget.value)}
            error={fieldError(error, "query.resource")}
          />
        </Group>
        <Group mt="sm">
          <Button type="submit">Who can access</Button>
        </Group>
      </form>
      {error !== undefined && !fieldError(error, "query.resource") && <ErrorState error={error} />}
      {result && (
        <Table.ScrollContainer minWidth={480} mt="sm">
          <Table aria-label="who can access">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Principal</Table.Th>
                <Table.Th>Accesses</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((r) => (
                <Table.Tr key={r.kind + r.name}>
                  <Table.Td>
                    {r.kind} {r.name}
                  </Table.Td>
                  <Table.Td>
                    {r.accesses
                      .map((a) => `${a.accessType}: ${a.result}${a.policyId ? ` (policy ${a.policyId})` : ""}`)
                      .join("; ")}
                  </Table.Td>
                </Table.Tr>
              ))}
              {rows.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={2}>
                    <Text size="sm">Nobody has access.</Text>
                  </Table.Td>
                </Table.Tr>
              )}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Paper>
  );
}

/** Access: the decision simulator with its explanation, and who can access a resource. */
export function AccessPage() {
  return (
    <Stack>
      <Title order={2}>Access</Title>
      <Simulator />
      <WhoCanAccess />
    </Stack>
  );
}
