import { TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { useState } from "react";
import { useQueryState } from "../router.ts";

/** A filter kept in the URL parameter `name`; changing it goes back to the first page of `prefix`'s table. */
export function FilterInput({
  name,
  label,
  prefix = "",
  placeholder,
}: {
  name: string;
  label: string;
  prefix?: string;
  placeholder?: string;
}) {
  const { get, set } = useQueryState();
  const [draft, setDraft] = useState(get(name));
  const commit = useDebouncedCallback(
    (v: string) => set({ [name]: v.trim(), [`${prefix}cursor`]: null, [`${prefix}page`]: null }, { replace: true }),
    120,
  );
  return (
    <TextInput
      label={label}
      size="xs"
      placeholder={placeholder}
      value={draft}
      onChange={(e) => {
        setDraft(e.currentTarget.value);
        commit(e.currentTarget.value);
      }}
    />
  );
}
