import { Button, Group, Loader, Table, Text, TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { memo, type ReactNode, useEffect, useState } from "react";
import { api, type Page, totalText } from "../api/client.ts";
import { useQueryState } from "../router.ts";
import { ErrorState } from "./ErrorState.tsx";
import classes from "./PagedTable.module.css";
import { useRequest } from "./useRequest.ts";

/** One column of a paged table. */
export interface Column<T> {
  header: string;
  render: (item: T) => ReactNode;
}

/** Props of `PagedTable`. */
export interface PagedTableProps<T> {
  /** What the rows are, for labels: "groups", "members". */
  label: string;
  /** The list route, e.g. `/v1/groups`. */
  path: string;
  /** Fixed filters sent with every page. */
  query?: Record<string, string | undefined>;
  /** The route's search parameter (`q`, `policyNamePartial`); no search box without one. */
  searchParam?: string;
  /** Prefix of this table's URL parameters, so two tables on one page keep their own state. */
  prefix?: string;
  columns: Column<T>[];
  rowKey: (item: T) => string;
  limit?: number;
  toolbar?: ReactNode;
  /** Bumped by the parent after a write, to load the page again. */
  reloadKey?: string | number;
}

/**
 * A server-paged, searchable list: the search and the cursor live in the URL, the total is shown,
 * and a failed page shows the error with a Retry. Never loads more than one page.
 */
export function PagedTable<T>(props: PagedTableProps<T>) {
  const { get, set } = useQueryState();
  const p = props.prefix ?? "";
  const search = get(`${p}q`);
  const cursor = get(`${p}cursor`);
  const page = Number(get(`${p}page`) || "1");
  const limit = props.limit ?? 25;
  const commitSearch = (value: string) =>
    set({ [`${p}q`]: value.trim(), [`${p}cursor`]: null, [`${p}page`]: null }, { replace: true });

  const query: Record<string, string | undefined> = {
    ...props.query,
    limit: String(limit),
    cursor: cursor || undefined,
  };
  if (props.searchParam && search) query[props.searchParam] = search;
  const key = JSON.stringify([props.path, query, props.reloadKey]);
  const req = useRequest(key, (signal) => api<Page<T>>("GET", props.path, { query, signal }));
  const data = req.data;

  const next = () => {
    if (!data?.nextCursor) return;
    set({ [`${p}cursor`]: data.nextCursor, [`${p}page`]: String(page + 1) }, { state: { [`${p}back`]: true } });
  };
  const previous = () => {
    const state = window.history.state as Record<string, unknown> | null;
    if (state?.[`${p}back`]) window.history.back();
    else set({ [`${p}cursor`]: null, [`${p}page`]: null });
  };

  return (
    <div>
      <Group justify="space-between" mb="sm" wrap="wrap" gap="sm">
        {props.searchParam ? <SearchBox label={props.label} value={search} onCommit={commitSearch} /> : <span />}
        {props.toolbar}
      </Group>
      {req.error !== undefined && <ErrorState error={req.error} onRetry={req.retry} />}
      <Group justify="space-between" mb={4} mih={24}>
        <Text size="sm" c="dimmed" aria-live="polite" data-testid={`${p || props.label}-total`}>
          {data ? `${totalText(data)} ${props.label}${search ? ` matching “${search}”` : ""}` : ""}
        </Text>
        {req.loading && <Loader size="xs" aria-label="loading" />}
      </Group>
      {/* biome-ignore lint/a11y/useSemanticElements: a scroll box, not a document section */}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls sideways must take keyboard focus (axe scrollable-region-focusable) */}
      <div className={classes.scroll} tabIndex={0} role="region" aria-label={`${props.label}, scrolls sideways`}>
        <Table striped highlightOnHover aria-label={props.label} aria-busy={req.loading} miw={480}>
          <Table.Thead>
            <Table.Tr>
              {props.columns.map((c) => (
                <Table.Th key={c.header}>{c.header}</Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {data && <Rows items={data.items} columns={props.columns} rowKey={props.rowKey} />}
            {data && data.items.length === 0 && (
              <Table.Tr>
                <Table.Td colSpan={props.columns.length}>
                  <Text size="sm" c="dimmed">
                    No {props.label}
                    {search ? ` match “${search}”` : ""}.
                  </Text>
                </Table.Td>
              </Table.Tr>
            )}
          </Table.Tbody>
        </Table>
      </div>
      <Group justify="flex-end" mt="sm" gap="xs">
        <Text size="sm" c="dimmed">
          Page {page}
          {data
            ? ` of ${Math.max(1, Math.ceil(data.total / limit)).toLocaleString("en")}${data.totalIsLowerBound ? "+" : ""}`
            : ""}
        </Text>
        <Button size="xs" variant="default" onClick={previous} disabled={page <= 1}>
          Previous
        </Button>
        <Button size="xs" variant="default" onClick={next} disabled={!data?.nextCursor}>
          Next
        </Button>
      </Group>
    </div>
  );
}

/**
 * The search box. Its draft lives here, so a keystroke re-renders the box and not the table; the
 * search is committed to the URL 120 ms after the last keystroke.
 */
function SearchBox({ label, value, onCommit }: { label: string; value: string; onCommit: (value: string) => void }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const commit = useDebouncedCallback(onCommit, 120);
  return (
    <TextInput
      aria-label={`Search ${label}`}
      placeholder={`Search ${label}`}
      value={draft}
      onChange={(e) => {
        setDraft(e.currentTarget.value);
        commit(e.currentTarget.value);
      }}
      style={{ flex: "1 1 220px", maxWidth: 420 }}
    />
  );
}

interface RowsProps<T> {
  items: T[];
  columns: Column<T>[];
  rowKey: (item: T) => string;
}

/**
 * One page's rows, as plain `<tr>`/`<td>` styled like Mantine's table. Memoised: the table's own
 * loading state changes re-render the table but not rows whose items and columns are unchanged.
 */
const Rows = memo(function Rows<T>({ items, columns, rowKey }: RowsProps<T>) {
  return items.map((item) => (
    <tr key={rowKey(item)} className={classes.row}>
      {columns.map((c) => (
        <td key={c.header} className={classes.cell}>
          {c.render(item)}
        </td>
      ))}
    </tr>
  ));
}) as <T>(props: RowsProps<T>) => ReactNode;
