import { ActionIcon, Badge, Box, Button, Group, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api, type Page } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError, fieldError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { OrgPicker } from "../components/OrgPicker.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useRequest } from "../components/useRequest.ts";
import { useQueryState } from "../router.ts";
import { useCan } from "../session.tsx";
import { SyncedGroupInDirectory } from "./DirectoryGroupMembers.tsx";
import { GroupMetadata } from "./GroupExtras.tsx";
import { RoleBindings } from "./RoleBindings.tsx";
import type { Group as GroupT, User } from "./types.ts";

const TREE_PAGE = 50;

/** One level of the group tree, loaded when its parent is opened; "more" loads the next page. */
function TreeLevel({ parentId, depth }: { parentId: string; depth: number }) {
  const [pages, setPages] = useState<string[]>([""]);
  return (
    <Box component="ul" style={{ listStyle: "none", margin: 0, padding: 0 }}>
      {pages.map((cursor, i) => (
        <TreePage
          key={cursor}
          parentId={parentId}
          cursor={cursor}
          depth={depth}
          onMore={i === pages.length - 1 ? (next) => setPages((p) => [...p, next]) : undefined}
        />
      ))}
    </Box>
  );
}

function TreePage(props: { parentId: string; cursor: string; depth: number; onMore?: (cursor: string) => void }) {
  const path = props.parentId === "root" ? "/v1/groups" : `/v1/groups/${props.parentId}/children`;
  const query = {
    limit: TREE_PAGE,
    cursor: props.cursor || undefined,
    parentId: props.parentId === "root" ? "root" : undefined,
    // `?org=<id>` (the picker): the top level of another organisation than the caller's own
    orgId: props.parentId === "root" ? new URLSearchParams(window.location.search).get("org") || undefined : undefined,
  };
  const req = useRequest(JSON.stringify([path, query]), (signal) => api<Page<GroupT>>("GET", path, { query, signal }));
  if (req.error !== undefined)
    return (
      <li>
        <ErrorState error={req.error} onRetry={req.retry} />
      </li>
    );
  if (!req.data)
    return (
      <Text component="li" size="sm" c="dimmed" pl={props.depth * 20}>
        Loading…
      </Text>
    );
  return (
    <>
      {props.cursor === "" && props.depth === 0 && (
        <Text component="li" size="xs" c="dimmed">
          {req.data.total.toLocaleString("en")} {props.parentId === "root" ? "top-level groups" : "subgroups"}
        </Text>
      )}
      {req.data.items.map((g) => (
        <TreeNode key={g.id} group={g} depth={props.depth} />
      ))}
      {req.data.nextCursor && props.onMore && (
        <li>
          <Button
            size="compact-xs"
            variant="subtle"
            ml={props.depth * 20}
            onClick={() => props.onMore?.(req.data!.nextCursor!)}
          >
            More groups
          </Button>
        </li>
      )}
    </>
  );
}

function TreeNode({ group, depth }: { group: GroupT; depth: number }) {
  const [open, setOpen] = useState(false);
  return (
    <li>
      <Group gap={4} pl={depth * 20} wrap="nowrap">
        <ActionIcon
          variant="subtle"
          size="sm"
          aria-label={`${open ? "Collapse" : "Expand"} ${group.name}`}
          aria-expanded={open}
          onClick={() => setOpen((o) => !o)}
        >
          {open ? "▾" : "▸"}
        </ActionIcon>
        <Link to={`/groups/${group.id}`}>{group.name}</Link>
        {group.source && group.source !== "local" && <Badge size="xs">{group.source}</Badge>}
      </Group>
      {open && <TreeLevel parentId={group.id} depth={depth + 1} />}
    </li>
  );
}

function CreateGroup({
  parentId,
  orgId,
  onCreated,
}: {
  parentId?: string;
  orgId?: string;
  onCreated: (g: GroupT) => void;
}) {
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const g = await api<GroupT>("POST", "/v1/groups", {
        body: { name: name.trim(), parentId: parentId ?? null, ...(orgId ? { orgId } : {}) },
      });
      setName("");
      onCreated(g);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Create group">
      <Group align="flex-end" gap="xs" wrap="wrap">
        <TextInput
          label={parentId ? "New subgroup name" : "New group name"}
          value={name}
          required
          onChange={(e) => setName(e.currentTarget.value)}
          error={fieldError(error, "body.name")}
        />
        <Button type="submit" loading={busy}>
          Create group
        </Button>
      </Group>
      {error !== undefined && !fieldError(error, "body.name") && <FormError error={error} />}
    </form>
  );
}

function GroupDetail({ id }: { id: string }) {
  const canWrite = useCan("directory.write");
  const { get, set } = useQueryState();
  const effective = get("effective") === "1";
  const [reload, setReload] = useState(0);
  const [username, setUsername] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const group = useRequest(id, (signal) => api<GroupT>("GET", `/v1/groups/${id}`, { signal }));

  const addMember = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const found = await api<Page<User>>("GET", "/v1/users", { query: { username: username.trim(), limit: 1 } });
      const user = found.items[0];
      if (!user) throw new Error(`user \`${username.trim()}\` not found`);
      await api("PUT", `/v1/groups/${id}/members/${user.id}`, { body: {} });
      setUsername("");
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (user: User) => {
    setError(undefined);
    try {
      await api("DELETE", `/v1/groups/${id}/members/${user.id}`);
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };

  if (group.error !== undefined) return <ErrorState error={group.error} onRetry={group.retry} />;
  const g = group.data;
  return (
    <Stack>
      <Text size="sm">
        <Link to="/groups">Groups</Link> / {g?.name ?? "…"}
      </Text>
      <Title order={2}>Group {g?.name ?? ""}</Title>
      {g?.description && <Text>{g.description}</Text>}
      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          Subgroups
        </Title>
        <TreeLevel parentId={id} depth={0} />
        {canWrite && (
          <Box mt="sm">
            <CreateGroup parentId={id} onCreated={() => setReload((n) => n + 1)} />
          </Box>
        )}
      </Paper>
      <Paper withBorder p="md">
        <Title order={3} size="h4" mb="sm">
          Members
        </Title>
        {canWrite && (
          <form onSubmit={addMember} aria-label="Add member">
            <Group align="flex-end" gap="xs" mb="sm" wrap="wrap">
              <TextInput
                label="Username to add"
                value={username}
                required
                onChange={(e) => setUsername(e.currentTarget.value)}
              />
              <Button type="submit">Add member</Button>
            </Group>
          </form>
        )}
        <FormError error={error} />
        <PagedTable<{ user: User; direct: boolean; role: string }>
          label="members"
          prefix="m"
          path={`/v1/groups/${id}/members`}
          query={{ effective: effective ? "true" : undefined }}
          searchParam="usernamePrefix"
          reloadKey={reload}
          rowKey={(m) => m.user.id}
          toolbar={
            <Button
              size="xs"
              variant="default"
              onClick={() => set({ effective: effective ? null : "1", mcursor: null })}
            >
              {effective ? "Show direct members" : "Show effective members"}
            </Button>
          }
          columns={[
            { header: "Username", render: (m) => <Link to={`/users/${m.user.id}`}>{m.user.username}</Link> },
            { header: "Display name", render: (m) => m.user.displayName ?? "" },
            { header: "Membership", render: (m) => `${m.direct ? "direct" : "inherited"} ${m.role}` },
            ...(canWrite
              ? [
                  {
                    header: "Actions",
                    render: (m: { user: User; direct: boolean }) =>
                      m.direct ? (
                        <Button size="compact-xs" color="red.9" variant="outline" onClick={() => remove(m.user)}>
                          Remove {m.user.username}
                        </Button>
                      ) : null,
                  },
                ]
              : []),
          ]}
        />
      </Paper>
      {g?.identitySourceId && <SyncedGroupInDirectory sourceId={g.identitySourceId} name={g.name} />}
      {g?.orgId && <RoleBindings principal={{ type: "group", id }} orgId={g.orgId} canWrite={canWrite} />}
      {g?.orgId && (
        <Paper withBorder p="md">
          <Title order={3} size="h4" mb="sm">
            Metadata
          </Title>
          <GroupMetadata
            groupId={id}
            orgId={g.orgId}
            metadata={g.metadata ?? {}}
            canWrite={canWrite}
            onSaved={group.retry}
          />
        </Paper>
      )}
    </Stack>
  );
}

/** Directory → groups: a tree loading children on demand, a search, a group's members. */
export function GroupsPage({ id }: { id?: string }) {
  const canWrite = useCan("directory.write");
  const { get } = useQueryState();
  const [created, setCreated] = useState<GroupT | null>(null);
  if (id) return <GroupDetail id={id} />;
  const searching = get("q") !== "";
  return (
    <Stack>
      <Title order={2}>Groups</Title>
      <OrgPicker />
      {canWrite && (
        <Paper withBorder p="md">
          <CreateGroup orgId={get("org")} onCreated={setCreated} />
          {created && (
            <Text size="sm" mt="xs" role="status">
              Created <Link to={`/groups/${created.id}`}>{created.name}</Link>.
            </Text>
          )}
        </Paper>
      )}
      <PagedTable<GroupT>
        label="groups"
        path="/v1/groups"
        query={{ orgId: get("org") || undefined, total: "bounded" }}
        searchParam="q"
        reloadKey={created?.id}
        rowKey={(g) => g.id}
        columns={[
          { header: "Name", render: (g) => <Link to={`/groups/${g.id}`}>{g.name}</Link> },
          { header: "Title", render: (g) => g.title ?? "" },
          { header: "Source", render: (g) => g.source ?? "" },
        ]}
      />
      {!searching && (
        <Paper withBorder p="md">
          <Title order={3} size="h4" mb="xs">
            Hierarchy
          </Title>
          <TreeLevel key={get("org")} parentId="root" depth={0} />
        </Paper>
      )}
    </Stack>
  );
}
