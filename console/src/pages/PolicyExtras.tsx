import { Button, Group, NativeSelect, Paper, Stack, TagsInput, Text, TextInput, Title } from "@mantine/core";
import { fieldError } from "../components/FormError.tsx";
import type { PolicyCondition, ServiceDef, ValiditySchedule } from "./types.ts";

/**
 * Conditions (`{type, values}`) of a policy (`body.conditions`) or of one of its items
 * (`body.policyItems[0].conditions`): a type of the service-def's `policyConditions` and its
 * values, each with the server's error for its field. Values are tags split on Enter only, as a
 * condition expression may hold commas. A service-def without policy conditions still shows the
 * stored ones, with a free type, and says so when there are none.
 */
export function ConditionsEditor(props: {
  def: ServiceDef;
  value: PolicyCondition[];
  onChange: (value: PolicyCondition[]) => void;
  error: unknown;
  readOnly: boolean;
  /** The body path the server names, e.g. `body.conditions` or `body.policyItems[0].conditions`. */
  field: string;
  /** The fieldset's legend, e.g. "Policy conditions". */
  title: string;
  /** What one condition is called in labels and buttons, e.g. "Condition" or "Item condition". */
  noun: string;
}) {
  const known = (props.def.policyConditions ?? []).map((c) => ({ value: c.name, label: c.label || c.name }));
  const set = (i: number, c: PolicyCondition) => props.onChange(props.value.map((x, j) => (j === i ? c : x)));
  const whole = fieldError(props.error, props.field);
  if (known.length === 0 && props.value.length === 0) {
    return (
      <Text size="sm" c="dimmed">
        The service-def {props.def.name} defines no policy conditions.
      </Text>
    );
  }
  return (
    <Paper withBorder p="sm" component="fieldset" aria-label={props.title}>
      <Title order={3} size="h5" mb="xs" component="legend">
        {props.title}
      </Title>
      <Stack gap="xs">
        {props.value.map((c, i) => {
          const f = `${props.field}[${i}]`;
          const label = `${props.noun} ${i + 1}`;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: conditions have no id; the index is their identity in the body
            <Group key={i} align="flex-end" grow wrap="wrap">
              {known.length > 0 ? (
                <NativeSelect
                  label={`${label} type`}
                  data={[{ value: "", label: "Choose a condition" }, ...known]}
                  value={c.type}
                  onChange={(e) => set(i, { ...c, type: e.currentTarget.value })}
                  error={fieldError(props.error, `${f}.type`)}
                  disabled={props.readOnly}
                />
              ) : (
                <TextInput
                  label={`${label} type`}
                  value={c.type}
                  onChange={(e) => set(i, { ...c, type: e.currentTarget.value })}
                  error={fieldError(props.error, `${f}.type`)}
                  disabled={props.readOnly}
                />
              )}
              <TagsInput
                label={`${label} values`}
                description="Press Enter after each value"
                splitChars={[]}
                value={c.values ?? []}
                onChange={(values) => set(i, { ...c, values })}
                error={fieldError(props.error, `${f}.values`) ?? fieldError(props.error, f)}
                disabled={props.readOnly}
              />
              {!props.readOnly && (
                <Button
                  size="xs"
                  variant="default"
                  style={{ flexGrow: 0 }}
                  onClick={() => props.onChange(props.value.filter((_, j) => j !== i))}
                >
                  Remove {label.toLowerCase()}
                </Button>
              )}
            </Group>
          );
        })}
        {whole && !props.value.some((_, i) => fieldError(props.error, `${props.field}[${i}]`)) && (
          <Text c="red.9" size="sm">
            {whole}
          </Text>
        )}
        {!props.readOnly && known.length > 0 && (
          <Group>
            <Button
              size="xs"
              variant="default"
              onClick={() => props.onChange([...props.value, { type: known[0].value, values: [] }])}
            >
              Add {props.noun.toLowerCase()}
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

/** Validity schedules: when the policy applies (`yyyy/MM/dd HH:mm:ss` in a time zone, as Ranger). */
export function ValiditySchedules(props: {
  value: ValiditySchedule[];
  onChange: (value: ValiditySchedule[]) => void;
  error: unknown;
  readOnly: boolean;
}) {
  const set = (i: number, v: ValiditySchedule) => props.onChange(props.value.map((x, j) => (j === i ? v : x)));
  const failure = fieldError(props.error, "body.validitySchedules");
  return (
    <Paper withBorder p="sm" component="fieldset" aria-label="Validity schedules">
      <Title order={3} size="h5" mb="xs" component="legend">
        Validity schedules
      </Title>
      <Stack gap="xs">
        {props.value.length === 0 && (
          <Text size="sm" c="dimmed">
            Always valid.
          </Text>
        )}
        {props.value.map((v, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: schedules have no id; the index is their identity in the body
          <Group key={i} align="flex-end" grow wrap="wrap">
            <TextInput
              label={`Schedule ${i + 1} start`}
              placeholder="2026/01/01 00:00:00"
              value={v.startTime ?? ""}
              onChange={(e) => set(i, { ...v, startTime: e.currentTarget.value })}
              disabled={props.readOnly}
            />
            <TextInput
              label={`Schedule ${i + 1} end`}
              placeholder="2026/12/31 23:59:59"
              value={v.endTime ?? ""}
              onChange={(e) => set(i, { ...v, endTime: e.currentTarget.value })}
              disabled={props.readOnly}
            />
            <TextInput
              label={`Schedule ${i + 1} time zone`}
              placeholder="UTC"
              value={v.timeZone ?? ""}
              onChange={(e) => set(i, { ...v, timeZone: e.currentTarget.value })}
              disabled={props.readOnly}
            />
            {!props.readOnly && (
              <Button
                size="xs"
                variant="default"
                style={{ flexGrow: 0 }}
                onClick={() => props.onChange(props.value.filter((_, j) => j !== i))}
              >
                Remove schedule {i + 1}
              </Button>
            )}
          </Group>
        ))}
        {failure && (
          <Text c="red.9" size="sm" role="alert">
            {failure}
          </Text>
        )}
        {!props.readOnly && (
          <Group>
            <Button size="xs" variant="default" onClick={() => props.onChange([...props.value, { timeZone: "UTC" }])}>
              Add schedule
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}
