import { Badge, Button, Group, NativeSelect, Paper, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError, fieldError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import type { Service, ServiceDef } from "./types.ts";

/** Creates a service of a service-def (`POST /v1/services`), then opens its page. */
function NewService({ defs }: { defs: string[] }) {
  const [name, setName] = useState("");
  const [type, setType] = useState("");
  const [description, setDescription] = useState("");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    const ok = await action.run(() =>
      api("POST", "/v1/services", { body: { name: trimmed, type: type || defs[0], description } }),
    );
    if (ok) navigate(`/services/${encodeURIComponent(trimmed)}`);
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} aria-label="New service">
        <Title order={3} size="h4" mb="xs">
          New service
        </Title>
        <Group align="flex-start" gap="xs" wrap="wrap">
          <TextInput
            label="Name"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fieldError(action.error, "body.name")}
          />
          <NativeSelect
            label="Type (service-def)"
            data={defs}
            value={type || defs[0] || ""}
            onChange={(e) => setType(e.currentTarget.value)}
            error={fieldError(action.error, "body.type")}
          />
          <TextInput
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.currentTarget.value)}
            error={fieldError(action.error, "body.description")}
          />
        </Group>
        <Group mt="xs">
          <Button type="submit" loading={action.busy}>
            Create service
          </Button>
        </Group>
        {action.error !== undefined && <FormError error={action.error} />}
      </form>
    </Paper>
  );
}

/**
 * Services with their type, policy version, state and tag service, each opening its page; with
 * `policy.write`, a service is created here. (The API lists services whole: a deployment has tens,
 * not thousands.)
 */
export function ServicesPage() {
  const canWrite = useCan("policy.write");
  const services = useRequest("services", (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }));
  const defs = useRequest("defs", (signal) => api<{ items: ServiceDef[] }>("GET", "/v1/service-defs", { signal }));
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Services</Title>
        <Link to="/service-defs">Service definitions</Link>
      </Group>
      {canWrite && defs.data && <NewService defs={defs.data.items.map((d) => d.name)} />}
      {defs.error !== undefined && <ErrorState error={defs.error} onRetry={defs.retry} />}
      {services.error !== undefined && <ErrorState error={services.error} onRetry={services.retry} />}
      <Text size="sm" c="dimmed" aria-live="polite" data-testid="services-total">
        {services.data ? `${services.data.items.length} services` : "…"}
      </Text>
      <Table.ScrollContainer minWidth={480}>
        <Table striped aria-label="services">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Service</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Policy version</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Tag service</Table.Th>
              <Table.Th>Policies</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {services.data?.items.map((s) => (
              <Table.Tr key={s.id}>
                <Table.Td>
                  <Link to={`/services/${encodeURIComponent(s.name)}`}>{s.name}</Link>
                </Table.Td>
                <Table.Td>
                  <Link to={`/service-defs/${encodeURIComponent(s.type)}`}>{s.type}</Link>
                </Table.Td>
                <Table.Td>{s.policyVersion}</Table.Td>
                <Table.Td>{s.isEnabled ? "enabled" : <Badge color="gray.8">disabled</Badge>}</Table.Td>
                <Table.Td>{s.tagService ?? ""}</Table.Td>
                <Table.Td>
                  <Link to={`/policies/${encodeURIComponent(s.name)}`}>policies of {s.name}</Link>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
