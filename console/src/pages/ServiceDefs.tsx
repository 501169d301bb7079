import { Button, Code, Group, Paper, Stack, Text, Textarea, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { ConfirmButton } from "../components/ConfirmButton.tsx";
import { ErrorState } from "../components/ErrorState.tsx";
import { FieldErrorList } from "../components/FieldErrorList.tsx";
import { FormError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import type { ServiceDef } from "./types.ts";

/** The JSON text of an editor, parsed; a syntax error is named before anything is sent. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
}

/** Adds a custom service-def from its JSON (`POST /v1/service-defs`); the server's field errors are listed. */
function NewServiceDef() {
  const [text, setText] = useState(
    JSON.stringify(
      { name: "", resources: [{ name: "", level: 10, mandatory: true }], accessTypes: [{ name: "read" }] },
      null,
      2,
    ),
  );
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let name = "";
    const ok = await action.run(async () => {
      const def = parseJson(text) as { name?: string };
      name = def.name ?? "";
      await api("POST", "/v1/service-defs", { body: def });
    });
    if (ok) navigate(`/service-defs/${encodeURIComponent(name)}`);
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} aria-label="New service-def">
        <Title order={3} size="h4" mb="xs">
          New service-def
        </Title>
        <Textarea
          label="Service-def JSON"
          autosize
          minRows={6}
          maxRows={20}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          styles={{ input: { fontFamily: "monospace" } }}
        />
        <Group mt="xs">
          <Button type="submit" loading={action.busy}>
            Create service-def
          </Button>
        </Group>
        {action.error !== undefined && <FormError error={action.error} />}
        <FieldErrorList error={action.error} />
      </form>
    </Paper>
  );
}

/** Service definitions: each with its resources and access types, opening its JSON; custom ones are added here. */
export function ServiceDefsPage() {
  const canWrite = useCan("policy.write");
  const defs = useRequest("defs", (signal) => api<{ items: ServiceDef[] }>("GET", "/v1/service-defs", { signal }));
  return (
    <Stack>
      <Title order={2}>Service definitions</Title>
      {canWrite && <NewServiceDef />}
      {defs.error !== undefined && <ErrorState error={defs.error} onRetry={defs.retry} />}
      <Text size="sm" c="dimmed" aria-live="polite">
        {defs.data ? `${defs.data.items.length} service-defs` : "…"}
      </Text>
      {defs.data?.items.map((d) => (
        <div key={d.name}>
          <Link to={`/service-defs/${encodeURIComponent(d.name)}`}>{d.name}</Link>
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

/**
 * One service-def as JSON. With `policy.write`, edited and saved whole (`PUT /v1/service-defs/{name}`,
 * validated by the server, every refused field listed with its message) or deleted when custom and
 * unused; the server refuses changes to the built-in defs (409) and says so.
 */
export function ServiceDefPage({ name }: { name: string }) {
  const canWrite = useCan("policy.write");
  const req = useRequest(`def:${name}`, (signal) =>
    api<ServiceDef>("GET", `/v1/service-defs/${encodeURIComponent(name)}`, { signal }),
  );
  const [text, setText] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  if (req.error !== undefined) return <ErrorState error={req.error} onRetry={req.retry} />;
  if (!req.data) return <Text c="dimmed">Loading…</Text>;
  const current = text ?? JSON.stringify(req.data, null, 2);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const ok = await action.run(() =>
      api("PUT", `/v1/service-defs/${encodeURIComponent(name)}`, { body: parseJson(current) }),
    );
    if (ok) {
      setSaved(true);
      setText(null);
      req.retry();
    }
  };
  const remove = async () => {
    if (await action.run(() => api("DELETE", `/v1/service-defs/${encodeURIComponent(name)}`)))
      navigate("/service-defs");
  };
  return (
    <Stack>
      <Text size="sm">
        <Link to="/service-defs">Service definitions</Link> / {name}
      </Text>
      <Title order={2}>Service-def {name}</Title>
      <form onSubmit={save} aria-label={`Service-def ${name}`}>
        <Textarea
          label="Service-def JSON"
          autosize
          minRows={10}
          maxRows={30}
          readOnly={!canWrite}
          value={current}
          onChange={(e) => {
            setSaved(false);
            setText(e.currentTarget.value);
          }}
          styles={{ input: { fontFamily: "monospace" } }}
        />
        {canWrite && (
          <Group mt="xs">
            <Button type="submit" loading={action.busy}>
              Save service-def
            </Button>
            <Button variant="default" onClick={() => setText(null)} disabled={text === null}>
              Discard changes
            </Button>
            <ConfirmButton label="Delete service-def" question={`Delete ${name}?`} onConfirm={remove} />
            {saved && (
              <Text size="sm" role="status">
                Saved.
              </Text>
            )}
          </Group>
        )}
        {action.error !== undefined && <FormError error={action.error} />}
        <FieldErrorList error={action.error} />
      </form>
    </Stack>
  );
}
