import { List, Paper, Text, Title } from "@mantine/core";
import { Link } from "../components/Link.tsx";
import type { MyZones } from "./myZones.ts";

/** A zone's name as a link to its page. */
export const zoneLink = (name: string) => <Link to={`/zones/${encodeURIComponent(name)}`}>{name}</Link>;

/** One list of zones, each a link on its own line (links in running text need more than colour). */
function ZoneList({ label, names }: { label: string; names: string[] }) {
  if (names.length === 0) return null;
  return (
    <>
      <Text size="sm">{label}</Text>
      <List size="sm" aria-label={label}>
        {names.map((z) => (
          <List.Item key={z}>{zoneLink(z)}</List.Item>
        ))}
      </List>
    </>
  );
}

/** The zones the actor administers and audits, as links; nothing when it holds none. */
export function MyZonesPanel({ zones }: { zones: MyZones | undefined }) {
  if (!zones || zones.administers.length + zones.audits.length === 0) return null;
  return (
    <Paper withBorder p="md" data-testid="my-zones">
      <Title order={3} size="h4" mb="xs">
        Your zones
      </Title>
      <ZoneList label="You administer" names={zones.administers} />
      <ZoneList label="You audit" names={zones.audits} />
    </Paper>
  );
}
