import { Button, Group, Paper, Stack, TagsInput, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { FormError, fieldError } from "../components/FormError.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useAction } from "../components/useAction.ts";
import { useCan } from "../session.tsx";
import { TaggedResources } from "./TaggedResources.tsx";

/** A tag type (`RangerTagDef`). */
interface TagDef {
  id: number;
  name: string;
  attributeDefs: { name: string; type?: string }[];
}

/** Attribute definitions typed as `name` or `name:type` tags. */
function attributeDefsOf(tags: string[]): { name: string; type?: string }[] {
  return tags.map((t) => {
    const i = t.indexOf(":");
    return i < 0 ? { name: t.trim() } : { name: t.slice(0, i).trim(), type: t.slice(i + 1).trim() };
  });
}

/** Defines a tag type (`POST /v1/tag-defs`) with its attributes. */
function NewTagDef({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [attributes, setAttributes] = useState<string[]>([]);
  const [created, setCreated] = useState("");
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await action.run(() =>
      api("POST", "/v1/tag-defs", { body: { name: name.trim(), attributeDefs: attributeDefsOf(attributes) } }),
    );
    if (ok) {
      setCreated(name.trim());
      setName("");
      setAttributes([]);
      onCreated();
    }
  };
  return (
    <Paper withBorder p="md">
      <form onSubmit={submit} aria-label="New tag type">
        <Title order={3} size="h4" mb="xs">
          New tag type
        </Title>
        <Group align="flex-start" gap="xs" wrap="wrap">
          <TextInput
            label="Tag type"
            placeholder="PII"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fieldError(action.error, "body.name")}
          />
          <TagsInput
            label="Attributes"
            description="name or name:type; press Enter after each"
            value={attributes}
            onChange={setAttributes}
            error={fieldError(action.error, "body.attributeDefs")}
            style={{ minWidth: 260 }}
          />
        </Group>
        <Group mt="xs">
          <Button type="submit" loading={action.busy}>
            Create tag type
          </Button>
          {created && (
            <Text size="sm" role="status">
              Tag type {created} created.
            </Text>
          )}
        </Group>
        {action.error !== undefined && <FormError error={action.error} />}
      </form>
    </Paper>
  );
}

/**
 * Tags: the tag types (defined and deleted here with `policy.write`; a type in use is refused by
 * the server, which says so) and, per service, its tagged resources.
 */
export function TagsPage() {
  const canWrite = useCan("policy.write");
  const [reload, setReload] = useState(0);
  const remove = useAction();
  const del = async (name: string) => {
    if (await remove.run(() => api("DELETE", `/v1/tag-defs/${encodeURIComponent(name)}`))) setReload((n) => n + 1);
  };
  return (
    <Stack>
      <Title order={2}>Tags</Title>
      {canWrite && <NewTagDef onCreated={() => setReload((n) => n + 1)} />}
      {remove.error !== undefined && <FormError error={remove.error} />}
      <PagedTable<TagDef>
        label="tag types"
        path="/v1/tag-defs"
        prefix="t"
        reloadKey={reload}
        rowKey={(t) => String(t.id)}
        columns={[
          { header: "Tag type", render: (t) => t.name },
          {
            header: "Attributes",
            render: (t) => t.attributeDefs.map((a) => `${a.name}${a.type ? `: ${a.type}` : ""}`).join(", "),
          },
          ...(canWrite
            ? [
                {
                  header: "Actions",
                  render: (t: TagDef) => (
                    <Button size="compact-xs" color="red.9" variant="outline" onClick={() => del(t.name)}>
                      Delete {t.name}
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
      <TaggedResources canWrite={canWrite} />
    </Stack>
  );
}
