import { Button, Checkbox, Group, NativeSelect, Stack, TagsInput, Text, Textarea, TextInput } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError, fieldError } from "../components/FormError.tsx";
import { useRequest } from "../components/useRequest.ts";

/** One property of a JSON Schema, as far as the form reads it. */
interface PropSchema {
  type?: string | string[];
  enum?: unknown[];
  description?: string;
  title?: string;
  additionalProperties?: boolean | PropSchema;
}

/** How a metaschema property is edited: text, a choice, a number, a flag, a string map as tags, or JSON. */
type FieldKind = "string" | "enum" | "number" | "boolean" | "map" | "json";

function kindOf(p: PropSchema): FieldKind {
  const t = Array.isArray(p.type) ? p.type.find((x) => x !== "null") : p.type;
  if (p.enum?.every((v) => typeof v === "string")) return "enum";
  if (t === "string") return "string";
  if (t === "number" || t === "integer") return "number";
  if (t === "boolean") return "boolean";
  if (
    t === "object" &&
    typeof p.additionalProperties === "object" &&
    (p.additionalProperties as PropSchema).type === "string"
  )
    return "map";
  return "json";
}

/** The form's text for a value, per kind (maps as `key=value` tags, the rest as JSON). */
function toDraft(kind: FieldKind, v: unknown): string | string[] | boolean {
  if (kind === "map") return Object.entries((v ?? {}) as Record<string, unknown>).map(([k, x]) => `${k}=${String(x)}`);
  if (kind === "boolean") return v === true;
  if (kind === "string" || kind === "enum") return typeof v === "string" ? v : "";
  if (kind === "number") return v === undefined || v === null ? "" : String(v);
  return v === undefined ? "" : JSON.stringify(v, null, 2);
}

/** The value sent for a draft; text that does not parse is sent as typed, so the server names the field. */
function fromDraft(kind: FieldKind, d: string | string[] | boolean): unknown {
  if (kind === "map") {
    return Object.fromEntries(
      (d as string[]).map((t) => {
        const i = t.indexOf("=");
        return i < 0 ? [t.trim(), ""] : [t.slice(0, i).trim(), t.slice(i + 1).trim()];
      }),
    );
  }
  if (kind === "boolean") return d;
  const s = (d as string).trim();
  if (s === "") return undefined;
  if (kind === "number") return Number.isNaN(Number(s)) ? s : Number(s);
  if (kind === "json") {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  }
  return d;
}

/**
 * A group's metadata edited against its organisation's metaschema (`GET /v1/orgs/{id}/metaschemas/group`):
 * one input per property the schema names, keys it does not name as JSON; the server validates
 * (`PATCH /v1/groups/{id}`) and each violation shows under the input of the property it names.
 */
export function GroupMetadata(props: {
  groupId: string;
  orgId: string;
  metadata: Record<string, unknown>;
  canWrite: boolean;
  onSaved: () => void;
}) {
  const schema = useRequest(`metaschema:${props.orgId}`, (signal) =>
    api<{ properties?: Record<string, PropSchema>; required?: string[] }>(
      "GET",
      `/v1/orgs/${props.orgId}/metaschemas/group`,
      { signal },
    ),
  );
  const [drafts, setDrafts] = useState<Record<string, string | string[] | boolean> | null>(null);
  const [other, setOther] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState("");
  if (schema.error !== undefined) return <ErrorState error={schema.error} onRetry={schema.retry} />;
  if (!schema.data) return <Text c="dimmed">Loading…</Text>;
  const properties = schema.data.properties ?? {};
  const required = new Set(schema.data.required ?? []);
  const names = Object.keys(properties);
  const current =
    drafts ?? Object.fromEntries(names.map((n) => [n, toDraft(kindOf(properties[n]), props.metadata[n])]));
  const rest = Object.fromEntries(Object.entries(props.metadata).filter(([k]) => !(k in properties)));
  const otherText = other ?? (Object.keys(rest).length > 0 ? JSON.stringify(rest, null, 2) : "");

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved("");
    try {
      let extra: Record<string, unknown> = {};
      if (otherText.trim() !== "") {
        try {
          extra = JSON.parse(otherText);
        } catch (err) {
          throw new Error(`other metadata is not JSON: ${(err as Error).message}`);
        }
      }
      const metadata: Record<string, unknown> = { ...extra };
      for (const n of names) {
        const v = fromDraft(kindOf(properties[n]), current[n]);
        if (v !== undefined) metadata[n] = v;
      }
      await api("PATCH", `/v1/groups/${props.groupId}`, { body: { metadata } });
      setSaved("Metadata saved");
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  };

  const set = (n: string, v: string | string[] | boolean) => setDrafts({ ...current, [n]: v });
  const shown = names.some((n) => fieldError(error, `body.metadata.${n}`) !== undefined);
  return (
    <form onSubmit={submit} aria-label="Group metadata">
      <Stack gap="xs">
        {names.length === 0 && (
          <Text size="sm" c="dimmed">
            The organisation's metaschema names no properties.
          </Text>
        )}
        {names.map((n) => {
          const p = properties[n];
          const kind = kindOf(p);
          const common = {
            label: p.title ?? n,
            description: p.description,
            required: required.has(n),
            error: fieldError(error, `body.metadata.${n}`),
            disabled: !props.canWrite,
          };
          if (kind === "map")
            return (
              <TagsInput
                key={n}
                {...common}
                description={p.description ?? "key=value; press Enter after each"}
                value={current[n] as string[]}
                onChange={(v) => set(n, v)}
              />
            );
          if (kind === "boolean")
            return (
              <Checkbox
                key={n}
                label={common.label}
                description={common.description}
                error={common.error}
                disabled={common.disabled}
                checked={current[n] as boolean}
                onChange={(e) => set(n, e.currentTarget.checked)}
              />
            );
          if (kind === "enum")
            return (
              <NativeSelect
                key={n}
                {...common}
                data={["", ...(p.enum as string[])]}
                value={current[n] as string}
                onChange={(e) => set(n, e.currentTarget.value)}
              />
            );
          if (kind === "json")
            return (
              <Textarea
                key={n}
                {...common}
                description={p.description ?? "JSON"}
                autosize
                minRows={1}
                value={current[n] as string}
                onChange={(e) => set(n, e.currentTarget.value)}
              />
            );
          return (
            <TextInput
              key={n}
              {...common}
              value={current[n] as string}
              onChange={(e) => set(n, e.currentTarget.value)}
            />
          );
        })}
        <Textarea
          label="Other metadata (JSON)"
          description="Keys the metaschema does not name"
          autosize
          minRows={1}
          value={otherText}
          onChange={(e) => setOther(e.currentTarget.value)}
          disabled={!props.canWrite}
        />
        {error !== undefined && !shown && <FormError error={error} />}
        {error !== undefined && shown && (
          <Text c="red.9" size="sm" role="alert">
            The server refused the metadata: see the fields marked in red.
          </Text>
        )}
        {saved && (
          <Text c="teal.9" size="sm" role="status">
            {saved}
          </Text>
        )}
        {props.canWrite && (
          <Group>
            <Button type="submit" size="xs">
              Save metadata
            </Button>
          </Group>
        )}
      </Stack>
    </form>
  );
}
