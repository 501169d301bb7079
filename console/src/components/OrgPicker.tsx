import { Button, Group, NativeSelect, Text } from "@mantine/core";
import { useEffect, useState } from "react";
import { api, type Page } from "../api/client.ts";
import { useQueryState } from "../router.ts";
import { ErrorState } from "./ErrorState.tsx";
import { useRequest } from "./useRequest.ts";

/** An organisation as `GET /v1/orgs` lists it, narrowed to what the picker shows. */
interface Org {
  id: string;
  name: string;
  title: string;
}

const PAGE = 100;

/**
 * Chooses the organisation a directory page shows, kept in the URL as `?org=<id>` (empty: the
 * caller's own, or `default`). The choices are pages of `GET /v1/orgs` (100 at a time, "More
 * organisations" loads the next), never the whole collection; an `org` in a shared link that is
 * not on a loaded page still shows, by its id. Changing it resets the page's list to its first page.
 */
export function OrgPicker() {
  const { get, set } = useQueryState();
  const org = get("org");
  const [cursors, setCursors] = useState<string[]>([""]);
  const last = cursors[cursors.length - 1];
  const req = useRequest(`orgs:${last}`, (signal) =>
    api<Page<Org>>("GET", "/v1/orgs", { query: { limit: PAGE, cursor: last || undefined }, signal }),
  );
  const [loaded, setLoaded] = useState<Map<string, Org>>(new Map());
  const page = req.data;
  useEffect(() => {
    if (page) setLoaded((before) => new Map([...before, ...page.items.map((o) => [o.id, o] as const)]));
  }, [page]);
  const options = [...loaded.values()].map((o) => ({
    value: o.id,
    label: o.title && o.title !== o.name ? `${o.title} (${o.name})` : o.name,
  }));
  if (org && !loaded.has(org)) options.push({ value: org, label: org });
  return (
    <div>
      <Group gap="xs" align="flex-end" wrap="wrap">
        <NativeSelect
          label="Organisation"
          data={[{ value: "", label: "your own (default)" }, ...options]}
          value={org}
          onChange={(e) => set({ org: e.currentTarget.value, q: null, cursor: null, page: null })}
          style={{ minWidth: 220 }}
        />
        {req.data?.nextCursor && (
          <Button size="xs" variant="default" onClick={() => setCursors((c) => [...c, req.data?.nextCursor ?? ""])}>
            More organisations
          </Button>
        )}
        {req.data && (
          <Text size="xs" c="dimmed" pb={8}>
            {loaded.size.toLocaleString("en")} of {req.data.total.toLocaleString("en")} organisations listed
          </Text>
        )}
      </Group>
      {req.error !== undefined && <ErrorState error={req.error} onRetry={req.retry} />}
    </div>
  );
}
