import { Button, Checkbox, Group, Paper, Stack, Text, Textarea, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { ConfirmButton } from "../components/ConfirmButton.tsx";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError, fieldError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import type { Service } from "./types.ts";

/** A service as `GET /v1/services/{service}` answers it, with its configs. */
interface ServiceDetail extends Service {
  displayName?: string;
  configs?: Record<string, string>;
}

/** Configs as `key=value` lines, and back (a line without `=` is a key with an empty value). */
const configText = (configs: Record<string, string> = {}) =>
  Object.entries(configs)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
function parseConfigs(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .map((l) => {
        const i = l.indexOf("=");
        return i < 0 ? [l, ""] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
      }),
  );
}

/** The editable fields of a service (`PATCH /v1/services/{service}`); the type cannot change. */
function ServiceForm({ service, onSaved }: { service: ServiceDetail; onSaved: () => void }) {
  const [displayName, setDisplayName] = useState(service.displayName ?? "");
  const [description, setDescription] = useState(service.description ?? "");
  const [configs, setConfigs] = useState(configText(service.configs));
  const [isEnabled, setIsEnabled] = useState(service.isEnabled);
  const [tagService, setTagService] = useState(service.tagService ?? "");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await action.run(() =>
      api("PATCH", `/v1/services/${encodeURIComponent(service.name)}`, {
        body: {
          displayName,
          description,
          configs: parseConfigs(configs),
          isEnabled,
          tagService: tagService.trim() || null,
        },
      }),
    );
    if (ok) onSaved();
  };
  return (
    <form onSubmit={submit} aria-label={`Service ${service.name}`}>
      <Stack gap="xs">
        <Group align="flex-start" gap="xs" wrap="wrap">
          <TextInput
            label="Display name"
            value={displayName}
            onChange={(e) => setDisplayName(e.currentTarget.value)}
            error={fieldError(action.error, "body.displayName")}
          />
          <TextInput
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.currentTarget.value)}
            error={fieldError(action.error, "body.description")}
            style={{ flex: "1 1 260px" }}
          />
          <TextInput
            label="Tag service"
            placeholder="tags"
            value={tagService}
            onChange={(e) => setTagService(e.currentTarget.value)}
            error={fieldError(action.error, "body.tagService")}
          />
        </Group>
        <Textarea
          label="Configs"
          description="one key=value per line, e.g. ranger.plugin.super.users=admin"
          autosize
          minRows={3}
          value={configs}
          onChange={(e) => setConfigs(e.currentTarget.value)}
          error={fieldError(action.error, "body.configs")}
        />
        <Checkbox label="Enabled" checked={isEnabled} onChange={(e) => setIsEnabled(e.currentTarget.checked)} />
        <Group>
          <Button type="submit" loading={action.busy}>
            Save service
          </Button>
        </Group>
        {action.error !== undefined && <FormError error={action.error} />}
      </Stack>
    </form>
  );
}

/** A service's page: what it is, its configs; with `policy.write`, edited and deleted (with its policies). */
export function ServicePage({ name }: { name: string }) {
  const canWrite = useCan("policy.write");
  const req = useRequest(`service:${name}`, (signal) =>
    api<ServiceDetail>("GET", `/v1/services/${encodeURIComponent(name)}`, { signal }),
  );
  const remove = useAction();
  if (req.error !== undefined) return <ErrorState error={req.error} onRetry={req.retry} />;
  const s = req.data;
  if (!s) return <Text c="dimmed">Loading…</Text>;
  return (
    <Stack>
      <Text size="sm">
        <Link to="/services">Services</Link> / {s.name}
      </Text>
      <Title order={2}>Service {s.name}</Title>
      <Text size="sm">
        Type <Link to={`/service-defs/${encodeURIComponent(s.type)}`}>{s.type}</Link> · policy version {s.policyVersion}{" "}
        · <Link to={`/policies/${encodeURIComponent(s.name)}`}>its policies</Link>
      </Text>
      <Paper withBorder p="md">
        {canWrite ? (
          <ServiceForm key={String(s.policyVersion) + JSON.stringify(s)} service={s} onSaved={req.retry} />
        ) : (
          <Stack gap={4}>
            <Text size="sm">{s.description || "No description."}</Text>
            <Text size="sm">{s.isEnabled ? "Enabled" : "Disabled"}</Text>
            <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
              Configs: {configText(s.configs) || "none"}
            </Text>
          </Stack>
        )}
      </Paper>
      {canWrite && (
        <Stack gap="xs">
          <ConfirmButton
            label="Delete service"
            question={`Delete ${s.name} and all its policies?`}
            busy={remove.busy}
            onConfirm={async () => {
              if (await remove.run(() => api("DELETE", `/v1/services/${encodeURIComponent(s.name)}`)))
                navigate("/services");
            }}
          />
          {remove.error !== undefined && <FormError error={remove.error} />}
        </Stack>
      )}
    </Stack>
  );
}
