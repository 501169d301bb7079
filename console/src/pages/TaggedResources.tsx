import { Badge, Button, Group, NativeSelect, Paper, Stack, TagsInput, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FilterInput } from "../components/FilterInput.tsx";
import { FormError, fieldError } from "../components/FormError.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import { useQueryState } from "../router.ts";
import type { Service } from "./types.ts";
import { parseResources, resourceLine } from "./zoneForm.ts";

/** A tagged resource (`RangerServiceResource`) with its tags. */
interface TaggedResource {
  id: number;
  resourceElements: Record<string, { values: string[] }>;
  tags: { type: string; attributes: Record<string, string> }[];
}

/** `key=value` tags as a map. */
function attributesOf(tags: string[]): Record<string, string> {
  return Object.fromEntries(
    tags.map((t) => {
      const i = t.indexOf("=");
      return i < 0 ? [t.trim(), ""] : [t.slice(0, i).trim(), t.slice(i + 1).trim()];
    }),
  );
}

/** Tags a resource of `service` (`POST …/tagged-resources`): its elements, a tag type and attributes. */
function TagResource({ service, onTagged }: { service: string; onTagged: () => void }) {
  const [resource, setResource] = useState("");
  const [type, setType] = useState("");
  const [attributes, setAttributes] = useState<string[]>([]);
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const elements = parseResources(resource)[0] ?? {};
    const ok = await action.run(() =>
      api("POST", `/v1/services/${encodeURIComponent(service)}/tagged-resources`, {
        body: {
          resourceElements: Object.fromEntries(Object.entries(elements).map(([k, values]) => [k, { values }])),
          tags: [{ type: type.trim(), attributes: attributesOf(attributes) }],
        },
      }),
    );
    if (ok) {
      setResource("");
      setAttributes([]);
      onTagged();
    }
  };
  return (
    <form onSubmit={submit} aria-label="Tag a resource">
      <Group align="flex-start" gap="xs" wrap="wrap">
        <TextInput
          label="Resource"
          placeholder="catalog=sales,schema=eu,table=orders"
          required
          value={resource}
          onChange={(e) => setResource(e.currentTarget.value)}
          error={fieldError(action.error, "body.resourceElements")}
          style={{ flex: "1 1 260px" }}
        />
        <TextInput
          label="Tag type"
          required
          value={type}
          onChange={(e) => setType(e.currentTarget.value)}
          error={fieldError(action.error, "body.tags")}
        />
        <TagsInput
          label="Attributes"
          description="key=value; press Enter after each"
          value={attributes}
          onChange={setAttributes}
          style={{ minWidth: 220 }}
        />
      </Group>
      <Group mt="xs">
        <Button type="submit" loading={action.busy}>
          Tag resource
        </Button>
      </Group>
      {action.error !== undefined && <FormError error={action.error} />}
    </form>
  );
}

/**
 * A service's tagged resources (`/v1/services/{service}/tagged-resources`), paged, filtered by tag
 * type; the service and the filter live in the URL. With `policy.write`: tag a resource, remove
 * one tag of a resource, delete a tagged resource.
 */
export function TaggedResources({ canWrite }: { canWrite: boolean }) {
  const { get, set } = useQueryState();
  const services = useRequest("tag-services", (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }));
  const names = (services.data?.items ?? []).filter((s) => s.type !== "tag").map((s) => s.name);
  const service = get("service") || names[0] || "";
  const [reload, setReload] = useState(0);
  const action = useAction();
  const base = `/v1/services/${encodeURIComponent(service)}/tagged-resources`;
  const change = async (work: () => Promise<unknown>) => {
    if (await action.run(work)) setReload((n) => n + 1);
  };
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="xs">
        Tagged resources
      </Title>
      {services.error !== undefined && <ErrorState error={services.error} onRetry={services.retry} />}
      <Stack gap="sm">
        <Group gap="sm" align="flex-end" wrap="wrap">
          <NativeSelect
            label="Service"
            data={names}
            value={service}
            onChange={(e) => set({ service: e.currentTarget.value, rcursor: null, rpage: null })}
          />
          <FilterInput name="tag" label="Filter by tag type" prefix="r" />
        </Group>
        {canWrite && service && <TagResource service={service} onTagged={() => setReload((n) => n + 1)} />}
        {action.error !== undefined && <FormError error={action.error} />}
        {service ? (
          <PagedTable<TaggedResource>
            label="tagged resources"
            prefix="r"
            path={base}
            query={{ tag: get("tag") || undefined }}
            reloadKey={reload}
            rowKey={(r) => String(r.id)}
            columns={[
              {
                header: "Resource",
                render: (r) =>
                  resourceLine(Object.fromEntries(Object.entries(r.resourceElements).map(([k, v]) => [k, v.values]))),
              },
              {
                header: "Tags",
                render: (r) => (
                  <Group gap={4}>
                    {r.tags.map((t) => (
                      <Group key={t.type} gap={2} wrap="nowrap">
                        <Badge variant="outline">
                          {t.type}
                          {Object.keys(t.attributes).length > 0 &&
                            ` (${Object.entries(t.attributes)
                              .map(([k, v]) => `${k}=${v}`)
                              .join(", ")})`}
                        </Badge>
                        {canWrite && (
                          <Button
                            size="compact-xs"
                            variant="outline"
                            color="red.9"
                            onClick={() =>
                              change(() => api("DELETE", `${base}/${r.id}/tags/${encodeURIComponent(t.type)}`))
                            }
                          >
                            Untag {t.type}
                          </Button>
                        )}
                      </Group>
                    ))}
                  </Group>
                ),
              },
              ...(canWrite
                ? [
                    {
                      header: "Actions",
                      render: (r: TaggedResource) => (
                        <Button
                          size="compact-xs"
                          color="red.9"
                          variant="outline"
                          onClick={() => change(() => api("DELETE", `${base}/${r.id}`))}
                        >
                          Delete resource
                        </Button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        ) : (
          <Text size="sm">No service to show.</Text>
        )}
      </Stack>
    </Paper>
  );
}
