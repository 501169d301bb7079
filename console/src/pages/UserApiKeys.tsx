import { Alert, Badge, Button, Code, Group, Paper, Text, TextInput, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { FormError, fieldError } from "../components/FormError.tsx";
import { PagedTable } from "../components/PagedTable.tsx";
import { useCan } from "../session.tsx";

/** An API key as `GET /v1/api-keys` lists it: never the key itself, only its public prefix. */
interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const when = (iso: string | null, none: string) => (iso ? new Date(iso).toLocaleString() : none);

/** `datetime-local` input text (local time, no zone) as the ISO instant the API takes; empty stays empty. */
function toInstant(local: string): string | undefined {
  if (!local.trim()) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

/**
 * A user's API keys (`/v1/api-keys?userId=…`): listed with their prefix and dates, issued with a
 * name and an optional expiry (the key is shown once, held only in this component's memory until
 * "Done"), and revoked. Listing keys is `credentials.write` on the server, so a session without it
 * is told so instead of being shown an error.
 */
export function UserApiKeys({ userId }: { userId: string }) {
  const canManage = useCan("credentials.write");
  const [name, setName] = useState("");
  const [expiresAt, setExpiresAt] = useState("");
  const [error, setError] = useState<unknown>(undefined);
  const [issued, setIssued] = useState<{ name: string; key: string } | null>(null);
  const [reload, setReload] = useState(0);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const made = await api<ApiKey & { key: string }>("POST", "/v1/api-keys", {
        body: { userId, name: name.trim(), ...(toInstant(expiresAt) ? { expiresAt: toInstant(expiresAt) } : {}) },
      });
      setIssued({ name: made.name, key: made.key });
      setName("");
      setExpiresAt("");
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (k: ApiKey) => {
    setError(undefined);
    try {
      await api("DELETE", `/v1/api-keys/${k.id}`);
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  };

  const named = ["body.name", "body.expiresAt"].some((f) => fieldError(error, f) !== undefined);
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h4" mb="sm">
        API keys
      </Title>
      {!canManage ? (
        <Text size="sm" c="dimmed">
          Listing and issuing API keys needs the credentials.write ability, which this session does not hold.
        </Text>
      ) : (
        <>
          <form onSubmit={create} aria-label="Issue an API key">
            <Group align="flex-start" gap="xs" mb="sm" wrap="wrap">
              <TextInput
                label="Key name"
                description="What the key is for"
                required
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
                error={fieldError(error, "body.name")}
              />
              <TextInput
                label="Expires at"
                description="Optional, your local time"
                type="datetime-local"
                value={expiresAt}
                onChange={(e) => setExpiresAt(e.currentTarget.value)}
                error={fieldError(error, "body.expiresAt")}
              />
              <Button type="submit" mt={46}>
                Issue key
              </Button>
            </Group>
          </form>
          {error !== undefined && !named && <FormError error={error} />}
          {issued && (
            <Alert color="teal.9" variant="outline" mb="sm" title={`Key “${issued.name}” issued`} role="status">
              <Text size="sm">Copy it now: it is shown this once and cannot be read again.</Text>
              <Code block data-testid="issued-key" my="xs">
                {issued.key}
              </Code>
              <Button size="xs" variant="default" onClick={() => setIssued(null)}>
                Done, hide the key
              </Button>
            </Alert>
          )}
          <PagedTable<ApiKey>
            label="API keys"
            prefix="k"
            path="/v1/api-keys"
            query={{ userId }}
            reloadKey={reload}
            limit={10}
            rowKey={(k) => k.id}
            columns={[
              { header: "Name", render: (k) => k.name },
              { header: "Prefix", render: (k) => <code>{k.prefix}</code> },
              { header: "Created", render: (k) => when(k.createdAt, "") },
              { header: "Expires", render: (k) => when(k.expiresAt, "never") },
              { header: "Last used", render: (k) => when(k.lastUsedAt, "never") },
              {
                header: "State",
                render: (k) =>
                  k.revokedAt ? (
                    <Badge color="red.9" variant="outline">
                      revoked {when(k.revokedAt, "")}
                    </Badge>
                  ) : (
                    <Button size="compact-xs" color="red.9" variant="outline" onClick={() => revoke(k)}>
                      Revoke {k.name}
                    </Button>
                  ),
              },
            ]}
          />
        </>
      )}
    </Paper>
  );
}
