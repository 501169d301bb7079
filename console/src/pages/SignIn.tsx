import { Button, Center, Divider, Paper, PasswordInput, Stack, Text, Title } from "@mantine/core";
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, consoleConfig, type Session, signIn } from "../api/client.ts";
import { ErrorState } from "../components/ErrorState.tsx";

/** Sign-in: a key (general PSK or API key) exchanged once for a session cookie, or OIDC when configured. */
export function SignInPage({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [oidc, setOidc] = useState(false);
  useEffect(() => {
    consoleConfig().then((c) => setOidc(c.oidc));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(key.trim());
      setKey("");
      onSignedIn(session);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const returnTo = window.location.pathname + window.location.search;
  const keyError = error instanceof ApiError && error.status === 401 ? error.message : undefined;

  return (
    <Center mih="100vh" p="md">
      <main style={{ width: "100%", maxWidth: 420 }}>
        <Paper withBorder p="lg" radius="md">
          <form onSubmit={submit}>
            <Stack>
              <Title order={1} size="h3">
                Sign in to Gatehouse
              </Title>
              <Text size="sm" c="dimmed">
                Paste the general pre-shared key or an API key. It is exchanged once for a session and never stored in
                the browser.
              </Text>
              <PasswordInput
                label="Key"
                name="key"
                autoComplete="off"
                required
                value={key}
                onChange={(e) => setKey(e.currentTarget.value)}
                error={keyError}
                autoFocus
              />
              {error !== undefined && !keyError && <ErrorState error={error} />}
              <Button type="submit" loading={busy}>
                Sign in
              </Button>
              {oidc && (
                <>
                  <Divider label="or" />
                  <Button
                    component="a"
                    variant="default"
                    href={`/v1/console/oidc/login?returnTo=${encodeURIComponent(returnTo)}`}
                  >
                    Sign in with OIDC
                  </Button>
                </>
              )}
            </Stack>
          </form>
        </Paper>
      </main>
    </Center>
  );
}
