import { Paper, Stack, Text, Title } from "@mantine/core";
import { ApiError, api } from "../api/client.ts";
import { ConfirmButton } from "../components/ConfirmButton.tsx";
import { ErrorState } from "../components/ErrorState.tsx";
import { FormError } from "../components/FormError.tsx";
import { Link } from "../components/Link.tsx";
import { useAction } from "../components/useAction.ts";
import { useRequest } from "../components/useRequest.ts";
import { navigate } from "../router.ts";
import { useCan } from "../session.tsx";
import { useMyZones } from "./myZones.ts";
import { ZoneForm } from "./ZoneForm.tsx";
import type { Zone } from "./zoneForm.ts";

/**
 * A security zone's page: its services and resources, tag services, admin and audit lists, its
 * policies (through the policies page's zone). `policy.write` edits everything and deletes the zone
 * (409 `ZONE_IN_USE` while policies belong to it); the zone's own administrators edit its admin and
 * audit lists only, as the server allows.
 */
export function ZonePage({ name }: { name: string }) {
  const canWrite = useCan("policy.write");
  const mine = useMyZones();
  const req = useRequest(`zone:${name}`, (signal) =>
    api<Zone>("GET", `/v1/zones/${encodeURIComponent(name)}`, { signal }),
  );
  const remove = useAction();
  if (req.error !== undefined) return <ErrorState error={req.error} onRetry={req.retry} />;
  const zone = req.data;
  if (!zone) return <Text c="dimmed">Loading…</Text>;
  const administers = mine.data?.administers.includes(zone.name) ?? false;
  const onSaved = (z: Zone) => {
    if (z.name !== name) navigate(`/zones/${encodeURIComponent(z.name)}`, { replace: true });
    else req.retry();
  };
  return (
    <Stack>
      <Text size="sm">
        <Link to="/zones">Zones</Link> / {zone.name}
      </Text>
      <Title order={2}>Zone {zone.name}</Title>
      {administers && !canWrite && (
        <Text size="sm">You administer this zone: you may change its admin and audit lists and its policies.</Text>
      )}
      <Paper withBorder p="md">
        <ZoneForm
          key={JSON.stringify(zone)}
          zone={zone}
          full={canWrite}
          listsEditable={administers}
          onSaved={onSaved}
        />
        {!canWrite && !administers && (
          <Text size="sm" c="dimmed" mt="xs">
            Read-only: changing a zone needs policy.write or being its administrator.
          </Text>
        )}
      </Paper>
      {canWrite && (
        <Stack gap="xs">
          <ConfirmButton
            label="Delete zone"
            question={`Delete zone ${zone.name}?`}
            busy={remove.busy}
            onConfirm={async () => {
              if (await remove.run(() => api("DELETE", `/v1/zones/${encodeURIComponent(zone.name)}`)))
                navigate("/zones");
            }}
          />
          {remove.error !== undefined && <FormError error={remove.error} />}
          {remove.error instanceof ApiError && remove.error.code === "ZONE_IN_USE" && (
            <Text size="sm">Move or delete the zone's policies first.</Text>
          )}
        </Stack>
      )}
    </Stack>
  );
}
