import { AppShell, Burger, Button, Center, Group, Loader, NavLink, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useCallback, useEffect, useState } from "react";
import { currentSession, type Session, setUnauthorizedHandler, signOut } from "./api/client.ts";
import { ErrorState } from "./components/ErrorState.tsx";
import { PageBoundary } from "./components/PageBoundary.tsx";
import {
  AccessPage,
  AuditPage,
  GroupsPage,
  IdentitySourcesPage,
  PoliciesPage,
  RolePage,
  RolesPage,
  ServiceDefPage,
  ServiceDefsPage,
  ServicePage,
  ServicesPage,
  TagsPage,
  UsersPage,
  ZonePage,
  ZonesPage,
} from "./lazy-pages.ts";
import { OverviewPage } from "./pages/Overview.tsx";
import { SignInPage } from "./pages/SignIn.tsx";
import { BASE, navigate, usePath } from "./router.ts";
import { SessionContext } from "./session.tsx";

const NAV: { to: string; label: string }[] = [
  { to: "/", label: "Overview" },
  { to: "/groups", label: "Groups" },
  { to: "/users", label: "Users" },
  { to: "/identity-sources", label: "Identity sources" },
  { to: "/policies", label: "Policies" },
  { to: "/access", label: "Access" },
  { to: "/audit", label: "Audit" },
  { to: "/roles", label: "Roles" },
  { to: "/zones", label: "Zones" },
  { to: "/tags", label: "Tags" },
  { to: "/services", label: "Services" },
  { to: "/service-defs", label: "Service-defs" },
];

/** Picks the page for the path; each page owns its URL parameters. */
function Page({ path }: { path: string }) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return <OverviewPage />;
    case "groups":
      return <GroupsPage id={parts[1]} />;
    case "users":
      return <UsersPage id={parts[1]} />;
    case "identity-sources":
      return <IdentitySourcesPage id={parts[1]} />;
    case "policies":
      return <PoliciesPage service={parts[1]} id={parts[2]} view={parts[3]} />;
    case "access":
      return <AccessPage />;
    case "audit":
      return <AuditPage />;
    case "roles":
      return parts[1] ? <RolePage id={parts[1]} /> : <RolesPage />;
    case "zones":
      return parts[1] ? <ZonePage name={parts[1]} /> : <ZonesPage />;
    case "tags":
      return <TagsPage />;
    case "services":
      return parts[1] ? <ServicePage name={parts[1]} /> : <ServicesPage />;
    case "service-defs":
      return parts[1] ? <ServiceDefPage name={parts[1]} /> : <ServiceDefsPage />;
    default:
      return <Text>No page at {BASE + path}.</Text>;
  }
}

/** The console: sign-in until there is a session, then the shell with its pages. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [opened, { toggle, close }] = useDisclosure();
  const path = usePath();

  const load = useCallback(() => {
    setError(undefined);
    currentSession().then(setSession, setError);
  }, []);
  useEffect(() => {
    load();
    setUnauthorizedHandler(() => setSession(null));
    return () => setUnauthorizedHandler(null);
  }, [load]);

  if (error !== undefined) {
    return (
      <Center p="xl">
        <ErrorState error={error} onRetry={load} title="Cannot reach the Gatehouse server" />
      </Center>
    );
  }
  if (session === undefined) {
    return (
      <Center p="xl">
        <Loader aria-label="loading" />
      </Center>
    );
  }
  if (session === null) return <SignInPage onSignedIn={setSession} />;

  const section = `/${path.split("/")[1] ?? ""}`;
  return (
    <SessionContext.Provider value={session}>
      <AppShell
        header={{ height: 56 }}
        navbar={{ width: 200, breakpoint: "sm", collapsed: { mobile: !opened } }}
        padding="md"
      >
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group gap="sm" wrap="nowrap">
              <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
              <Title order={1} size="h4">
                Gatehouse
              </Title>
            </Group>
            <Group gap="sm" wrap="nowrap">
              <Text size="sm" data-testid="actor" visibleFrom="sm">
                {session.whoami.actor.name} · {session.whoami.roles.join(", ") || "no role"}
              </Text>
              <Button
                size="xs"
                variant="default"
                onClick={() => {
                  signOut().finally(() => setSession(null));
                }}
              >
                Sign out
              </Button>
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs" component="nav" aria-label="Console sections">
          {NAV.map((n) => (
            <NavLink
              key={n.to}
              href={BASE + n.to}
              label={n.label}
              active={section === n.to}
              variant="filled"
              onClick={(e) => {
                e.preventDefault();
                close();
                navigate(n.to);
              }}
            />
          ))}
        </AppShell.Navbar>
        <AppShell.Main>
          <PageBoundary key={section}>
            <Page path={path} />
          </PageBoundary>
        </AppShell.Main>
      </AppShell>
    </SessionContext.Provider>
  );
}
