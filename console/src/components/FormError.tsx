import { Alert } from "@mantine/core";
import { ApiError } from "../api/client.ts";

/** A write's failure: the server's message (fields are shown next to their inputs by the form). */
export function FormError({ error }: { error: unknown }) {
  if (error === undefined) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <Alert color="red.9" variant="outline" role="alert" title={e ? e.code : "Request failed"}>
      {error instanceof Error ? error.message : String(error)}
    </Alert>
  );
}

/** The server's message for `field` when `error` names it, for an input's `error` prop. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.fieldMessage(field) : undefined;
}
