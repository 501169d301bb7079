import { Button, Group, Text } from "@mantine/core";
import { useState } from "react";

/**
 * A destructive action asked twice: the first press shows what will happen and a "Confirm" button
 * (keyboard usable, no browser dialog), the second does it.
 */
export function ConfirmButton(props: { label: string; question: string; busy?: boolean; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <Group>
        <Button color="red.9" variant="outline" onClick={() => setAsking(true)}>
          {props.label}
        </Button>
      </Group>
    );
  return (
    <Group gap="xs" wrap="wrap">
      <Text size="sm">{props.question}</Text>
      <Button
        color="red.9"
        loading={props.busy}
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        Confirm: {props.label}
      </Button>
      <Button variant="default" onClick={() => setAsking(false)}>
        Cancel
      </Button>
    </Group>
  );
}
