import { Anchor, TagsInput, Text } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { useEffect, useRef, useState } from "react";
import { ApiError } from "../api/client.ts";

/** What a lookup found: at most a page of values, and a sentence on how many matched. */
export interface LookupResult {
  values: string[];
  /** e.g. "8 of 99,999 users starting with “us”"; shown under the input. */
  summary: string;
}

/** How long typing must pause before a lookup is sent (a typist sends one request, not one per key). */
export const LOOKUP_DEBOUNCE_MS = 200;

/**
 * Tags (names or values) with suggestions looked up on the server as you type: debounced, the
 * outdated request aborted, a bounded page of matches offered in the dropdown (arrows and Enter
 * pick one). Anything typed is kept too (Enter adds it), so the server's validation speaks for
 * values the lookup does not know; `known` (optional) tells which added values the server knows,
 * and the others are named under the input. A failed lookup is named with a Retry; the input keeps
 * working without suggestions.
 */
export function LookupTagsInput(props: {
  label: string;
  value: string[];
  onChange: (value: string[]) => void;
  lookup: (text: string, signal: AbortSignal) => Promise<LookupResult>;
  /** Characters typed before the first lookup; 0 also looks up when the input gets focus. */
  minChars: number;
  known?: (value: string, signal: AbortSignal) => Promise<boolean>;
  /** What an unknown value is not in, e.g. "the directory". */
  unknownIn?: string;
  error?: string;
  disabled?: boolean;
  description?: string;
}) {
  const [search, setSearch] = useState("");
  const [options, setOptions] = useState<string[]>([]);
  const [summary, setSummary] = useState("");
  const [failure, setFailure] = useState<{ text: string; message: string } | null>(null);
  const [unknown, setUnknown] = useState<string[]>([]);
  const inFlight = useRef<AbortController | null>(null);
  const checks = useRef<AbortController>(new AbortController());
  useEffect(
    () => () => {
      inFlight.current?.abort();
      checks.current.abort();
    },
    [],
  );

  const run = async (text: string) => {
    inFlight.current?.abort();
    if (text.trim().length < props.minChars) {
      setOptions([]);
      setSummary("");
      return;
    }
    const controller = new AbortController();
    inFlight.current = controller;
    try {
      const found = await props.lookup(text.trim(), controller.signal);
      if (controller.signal.aborted) return;
      setOptions(found.values);
      setSummary(found.summary);
      setFailure(null);
    } catch (err) {
      if (controller.signal.aborted) return;
      setOptions([]);
      setSummary("");
      setFailure({ text, message: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err) });
    }
  };
  const debounced = useDebouncedCallback(run, LOOKUP_DEBOUNCE_MS);

  const change = (next: string[]) => {
    props.onChange(next);
    setUnknown((u) => u.filter((v) => next.includes(v)));
    const added = next.filter((v) => !props.value.includes(v) && !options.includes(v));
    const { known } = props;
    if (!known) return;
    for (const v of added) {
      known(v, checks.current.signal).then(
        (isKnown) => {
          if (!isKnown) setUnknown((u) => (u.includes(v) ? u : [...u, v]));
        },
        () => undefined, // a failed check only leaves the note out; the lookup's own failure is shown
      );
    }
  };

  const hasNotes = Boolean(props.description || summary || unknown.length > 0 || failure);
  const notes = hasNotes && (
    <>
      {props.description && <span>{props.description}. </span>}
      {summary && <span>{summary}. </span>}
      {unknown.length > 0 && (
        <span>
          Not in {props.unknownIn ?? "the directory"}, kept as typed: {unknown.join(", ")}.{" "}
        </span>
      )}
      {failure && (
        <Text span c="red.9" size="xs">
          Suggestions failed ({failure.message}).{" "}
          <Anchor component="button" type="button" size="xs" onClick={() => run(failure.text)}>
            Retry suggestions
          </Anchor>
        </Text>
      )}
    </>
  );

  return (
    <TagsInput
      label={props.label}
      value={props.value}
      onChange={change}
      data={options}
      searchValue={search}
      onSearchChange={(text) => {
        setSearch(text);
        debounced(text);
      }}
      onFocus={() => {
        if (props.minChars === 0 && options.length === 0) run(search);
      }}
      description={notes || undefined}
      error={props.error}
      disabled={props.disabled}
      comboboxProps={{ withinPortal: true }}
    />
  );
}
