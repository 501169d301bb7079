import { Alert, Button, Group, List, Text } from "@mantine/core";
import { ApiError } from "../api/client.ts";

/** Names what failed (the server's message, code and fields) and offers a retry; never a vague message. */
export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const e = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <Alert
      color="red.9"
      variant="outline"
      title={title ?? (e ? `Request failed: ${e.code}` : "Request failed")}
      role="alert"
    >
      <Text size="sm">{message}</Text>
      {e && e.details.length > 1 && (
        <List size="sm" mt="xs">
          {e.details.map((d) => (
            <List.Item key={d.field + d.message}>
              <code>{d.field}</code>: {d.message}
            </List.Item>
          ))}
        </List>
      )}
      {e?.requestId && (
        <Text size="xs" c="dimmed" mt={4}>
          request id {e.requestId}
        </Text>
      )}
      {onRetry && (
        <Group mt="sm">
          <Button size="xs" variant="outline" color="red.9" onClick={onRetry}>
            Retry
          </Button>
        </Group>
      )}
    </Alert>
  );
}
