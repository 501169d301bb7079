import { Button, Group, NativeSelect, Paper, Stack, TagsInput, Text, Textarea, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { ApiError, api } from "../api/client.ts";
import { FormError, fieldError } from "../components/FormError.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import type { Service } from "./types.ts";
import { parseResources, type ServiceDraft, serviceDrafts, type Zone } from "./zoneForm.ts";

const LISTS = [
  ["adminUsers", "Admin users"],
  ["adminUserGroups", "Admin groups"],
  ["adminRoles", "Admin roles"],
  ["auditUsers", "Audit users"],
  ["auditUserGroups", "Audit groups"],
  ["auditRoles", "Audit roles"],
] as const;
type ListName = (typeof LISTS)[number][0];

/** The server's message for exactly `field` (not a field below it: those show under their own input). */
function exactError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.details.find((d) => d.field === field)?.message : undefined;
}

/**
 * Creates (no `zone`) or changes a security zone: name, description, the services it claims with
 * their resources (one resource per line, `catalog=sales,schema=eu*`), tag services, and its
 * admin and audit lists. With `full` false (a zone administrator without `policy.write`) only the
 * admin and audit lists are editable, as the server allows; with `listsEditable` false as well, nothing is. Errors show under the field they name
 * (`body.services.trino.resources[0].schema`).
 */
export function ZoneForm(props: {
  zone?: Zone;
  full: boolean;
  listsEditable?: boolean;
  onSaved: (zone: Zone) => void;
}) {
  const { zone, full } = props;
  const listsEditable = full || (props.listsEditable ?? true);
  // only an editor of the services needs the list (a zone administrator may hold no policy.read)
  const services = useRequest(
    "zone-form-services",
    (signal) => api<{ items: Service[] }>("GET", "/v1/services", { signal }),
    full,
  );
  const [name, setName] = useState(zone?.name ?? "");
  const [description, setDescription] = useState(zone?.description ?? "");
  const [rows, setRows] = useState<ServiceDraft[]>(() => serviceDrafts(zone));
  const [tagServices, setTagServices] = useState<string[]>(zone?.tagServices ?? []);
  const [lists, setLists] = useState<Record<ListName, string[]>>(
    () => Object.fromEntries(LISTS.map(([k]) => [k, zone?.[k] ?? []])) as Record<ListName, string[]>,
  );
  const action = useAction();
  const err = (field: string) => fieldError(action.error, field);
  const serviceNames = [
    ...new Set([
      ...(services.data?.items ?? []).filter((s) => s.type !== "tag").map((s) => s.name),
      ...rows.map((r) => r.service).filter((n) => n !== ""),
    ]),
  ];
  const tagNames = (services.data?.items ?? []).filter((s) => s.type === "tag").map((s) => s.name);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = { ...lists };
    if (full) {
      body.name = name.trim();
      body.description = description;
      body.services = Object.fromEntries(
        rows.filter((r) => r.service !== "").map((r) => [r.service, { resources: parseResources(r.resources) }]),
      );
      body.tagServices = tagServices;
    }
    await action.run(async () => {
      const saved = zone
        ? await api<Zone>("PATCH", `/v1/zones/${encodeURIComponent(zone.name)}`, { body })
        : await api<Zone>("POST", "/v1/zones", { body });
      props.onSaved(saved);
    });
  };
  const setRow = (i: number, change: Partial<ServiceDraft>) =>
    setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));

  return (
    <form onSubmit={submit} aria-label={zone ? `Zone ${zone.name}` : "New zone"}>
      <Stack gap="sm">
        <Group align="flex-start" gap="xs" wrap="wrap">
          <TextInput
            label="Name"
            required
            disabled={!full}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={err("body.name")}
          />
          <TextInput
            label="Description"
            disabled={!full}
            value={description}
            onChange={(e) => setDescription(e.currentTarget.value)}
            error={err("body.description")}
            style={{ flex: "1 1 260px" }}
          />
        </Group>
        <Paper withBorder p="sm">
          <Title order={4} size="h5" mb="xs">
            Services and the resources the zone claims
          </Title>
          <Text size="xs" c="dimmed" mb="xs">
            One resource per line, levels as <code>catalog=sales,schema=eu*</code>; several values of a level with{" "}
            <code>|</code>.
          </Text>
          {rows.length === 0 && <Text size="sm">No services yet.</Text>}
          {rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place while edited
            <Group key={i} align="flex-start" gap="xs" wrap="wrap" mb="xs">
              <NativeSelect
                label={`Service ${i + 1}`}
                disabled={!full}
                data={[{ value: "", label: "Choose a service" }, ...serviceNames.map((n) => ({ value: n, label: n }))]}
                value={r.service}
                onChange={(e) => setRow(i, { service: e.currentTarget.value })}
                error={r.service ? exactError(action.error, `body.services.${r.service}`) : undefined}
              />
              <Textarea
                label={`Resources of service ${i + 1}`}
                disabled={!full}
                autosize
                minRows={2}
                value={r.resources}
                onChange={(e) => setRow(i, { resources: e.currentTarget.value })}
                error={r.service ? err(`body.services.${r.service}.resources`) : undefined}
                style={{ flex: "1 1 300px" }}
              />
              {full && (
                <Button
                  mt={24}
                  variant="default"
                  onClick={() => setRows(rows.filter((_, j) => j !== i))}
                  aria-label={`Remove service ${i + 1}`}
                >
                  Remove
                </Button>
              )}
            </Group>
          ))}
          {full && (
            <Button variant="default" size="xs" onClick={() => setRows([...rows, { service: "", resources: "" }])}>
              Add a service
            </Button>
          )}
          {services.error !== undefined && <FormError error={services.error} />}
        </Paper>
        <TagsInput
          label="Tag services"
          description="press Enter after each"
          disabled={!full}
          data={tagNames}
          value={tagServices}
          onChange={setTagServices}
          error={err("body.tagServices")}
        />
        <Group align="flex-start" gap="xs" wrap="wrap">
          {LISTS.map(([k, label]) => (
            <TagsInput
              key={k}
              label={label}
              description="press Enter after each"
              disabled={!listsEditable}
              value={lists[k]}
              onChange={(v) => setLists({ ...lists, [k]: v })}
              error={err(`body.${k}`)}
              style={{ flex: "1 1 240px" }}
            />
          ))}
        </Group>
        {listsEditable && (
          <Group>
            <Button type="submit" loading={action.busy}>
              {zone ? "Save zone" : "Create zone"}
            </Button>
          </Group>
        )}
        {action.error !== undefined && <FormError error={action.error} />}
      </Stack>
    </form>
  );
}
