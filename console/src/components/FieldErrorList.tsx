import { List } from "@mantine/core";
import { ApiError } from "../api/client.ts";

/** Every field the server named in `error`, with its message: for editors (JSON) that have no input per field. */
export function FieldErrorList({ error }: { error: unknown }) {
  if (!(error instanceof ApiError) || error.details.length === 0) return null;
  return (
    <List size="sm" aria-label="fields the server refused" data-testid="field-errors">
      {error.details.map((d) => (
        <List.Item key={d.field + d.message}>
          <code>{d.field}</code>: {d.message}
        </List.Item>
      ))}
    </List>
  );
}
