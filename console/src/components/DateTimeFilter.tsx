import { TextInput } from "@mantine/core";
import { useQueryState } from "../router.ts";

/** An ISO instant as the browser's `datetime-local` value (local time, minutes); "" when absent or invalid. */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (iso === "" || Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (local time) as an ISO instant in UTC; "" when empty or incomplete. */
export function fromLocalInput(value: string): string {
  if (value === "") return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/**
 * A time filter picked with the browser's date-time input (in the user's time zone) and kept in
 * the URL parameter `name` as an ISO instant, so a shared link means the same moment anywhere;
 * changing it goes back to the first page of `prefix`'s table.
 */
export function DateTimeFilter({ name, label, prefix = "" }: { name: string; label: string; prefix?: string }) {
  const { get, set } = useQueryState();
  return (
    <TextInput
      type="datetime-local"
      label={label}
      size="xs"
      value={toLocalInput(get(name))}
      onChange={(e) =>
        set(
          { [name]: fromLocalInput(e.currentTarget.value), [`${prefix}cursor`]: null, [`${prefix}page`]: null },
          { replace: true },
        )
      }
    />
  );
}
