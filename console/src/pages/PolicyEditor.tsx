import {
  Button,
  Checkbox,
  Group,
  NativeSelect,
  Paper,
  Select,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { type FormEvent, useMemo, useState } from "react";
import { api } from "../api/client.ts";
import { FormError, fieldError } from "../components/FormError.tsx";
import { LookupTagsInput } from "../components/LookupTagsInput.tsx";
import { navigate } from "../router.ts";
import { lookupPrincipals, lookupResourceValues, type PrincipalKind, principalExists } from "./lookups.ts";
import { ConditionsEditor, ValiditySchedules } from "./PolicyExtras.tsx";
import type { Policy, PolicyCondition, PolicyItem, ServiceDef, ValiditySchedule } from "./types.ts";

type ItemList =
  | "policyItems"
  | "allowExceptions"
  | "denyPolicyItems"
  | "denyExceptions"
  | "dataMaskPolicyItems"
  | "rowFilterPolicyItems";

/** The item lists each policy type carries (0 access, 1 masking, 2 row filter), as the server checks. */
const LISTS: Record<number, ItemList[]> = {
  0: ["policyItems", "allowExceptions", "denyPolicyItems", "denyExceptions"],
  1: ["dataMaskPolicyItems"],
  2: ["rowFilterPolicyItems"],
};
const LIST_TITLES: Record<ItemList, [string, string]> = {
  policyItems: ["Allow conditions", "Allow"],
  allowExceptions: ["Exclude from allow conditions", "Allow exception"],
  denyPolicyItems: ["Deny conditions", "Deny"],
  denyExceptions: ["Exclude from deny conditions", "Deny exception"],
  dataMaskPolicyItems: ["Masking conditions", "Mask"],
  rowFilterPolicyItems: ["Row-filter conditions", "Row filter"],
};

/** A new item; masking and row-filter items start with their mask or filter, and the only access type if there is one. */
function emptyItem(list: ItemList, accessTypes: string[]): PolicyItem {
  const item: PolicyItem = { accesses: [], users: [], groups: [], roles: [] };
  if (list === "dataMaskPolicyItems" || list === "rowFilterPolicyItems") {
    if (accessTypes.length === 1) item.accesses = [{ type: accessTypes[0], isAllowed: true }];
  }
  if (list === "dataMaskPolicyItems") item.dataMaskInfo = { dataMaskType: "" };
  if (list === "rowFilterPolicyItems") item.rowFilterInfo = { filterExpr: "" };
  return item;
}

/**
 * The service-def as a policy of `type` sees it: masking and row-filter policies use the resources
 * and access types of `dataMaskDef` and `rowFilterDef` (Ranger's rule), access policies the whole def.
 */
function defForType(def: ServiceDef, type: number): ServiceDef {
  const sub = type === 1 ? def.dataMaskDef : type === 2 ? def.rowFilterDef : undefined;
  if (!sub) return def;
  const names = new Set((sub.resources ?? []).map((r) => r.name));
  return {
    ...def,
    resources: names.size > 0 ? def.resources.filter((r) => names.has(r.name)) : def.resources,
    accessTypes:
      sub.accessTypes && sub.accessTypes.length > 0
        ? sub.accessTypes.map((a) => ({ name: a.name, label: a.label ?? a.name }))
        : def.accessTypes,
  };
}

/** The resource chain of a policy: the levels chosen (root first), following the service-def's parents. */
function initialChain(def: ServiceDef, policy?: Policy): string[] {
  if (policy) {
    const used = def.resources.filter((r) => policy.resources[r.name]).sort((a, b) => a.level - b.level);
    if (used.length > 0) return used.map((r) => r.name);
  }
  const chain: string[] = [];
  let parent = "";
  for (;;) {
    const next = def.resources.filter((r) => (r.parent ?? "") === parent).sort((a, b) => a.level - b.level)[0];
    if (!next) break;
    chain.push(next.name);
    parent = next.name;
  }
  return chain;
}

const PRINCIPALS: { kind: PrincipalKind; label: string }[] = [
  { kind: "users", label: "Users" },
  { kind: "groups", label: "Groups" },
  { kind: "roles", label: "Roles" },
];

function ItemEditor(props: {
  def: ServiceDef;
  list: ItemList;
  index: number;
  item: PolicyItem;
  accessTypes: string[];
  maskTypes: { value: string; label: string }[];
  error: unknown;
  readOnly: boolean;
  onChange: (item: PolicyItem) => void;
  onRemove: () => void;
}) {
  const f = `body.${props.list}[${props.index}]`;
  const label = `${LIST_TITLES[props.list][1]} item ${props.index + 1}`;
  const mask = props.item.dataMaskInfo;
  return (
    <Paper withBorder p="sm" aria-label={label} component="fieldset">
      <Text component="legend" size="sm" fw={600}>
        {label}
      </Text>
      <Stack gap="xs">
        <Group grow align="flex-start" wrap="wrap">
          {PRINCIPALS.map(({ kind, label }) => (
            <LookupTagsInput
              key={kind}
              label={label}
              value={props.item[kind] ?? []}
              onChange={(names) => props.onChange({ ...props.item, [kind]: names })}
              lookup={(text, signal) => lookupPrincipals(kind, text, signal)}
              known={(name, signal) => principalExists(kind, name, signal)}
              minChars={1}
              error={fieldError(props.error, `${f}.${kind}`)}
              disabled={props.readOnly}
            />
          ))}
        </Group>
        <TagsInput
          label="Access types"
          description="From the service-def; type and press Enter"
          data={props.accessTypes}
          value={props.item.accesses.map((a) => a.type)}
          onChange={(types) =>
            props.onChange({ ...props.item, accesses: types.map((type) => ({ type, isAllowed: true })) })
          }
          error={fieldError(props.error, `${f}.accesses`)}
          disabled={props.readOnly}
        />
        {props.list === "dataMaskPolicyItems" && (
          <Group grow align="flex-start" wrap="wrap">
            <NativeSelect
              label="Mask type"
              description="From the service-def's masking types"
              data={[{ value: "", label: "Choose a mask type" }, ...props.maskTypes]}
              value={mask?.dataMaskType ?? ""}
              onChange={(e) =>
                props.onChange({ ...props.item, dataMaskInfo: { ...mask, dataMaskType: e.currentTarget.value } })
              }
              error={
                fieldError(props.error, `${f}.dataMaskInfo.dataMaskType`) ??
                fieldError(props.error, `${f}.dataMaskInfo`)
              }
              disabled={props.readOnly}
            />
            {mask?.dataMaskType === "CUSTOM" && (
              <TextInput
                label="Custom mask expression"
                description="{col} is the column"
                value={mask.valueExpr ?? ""}
                onChange={(e) =>
                  props.onChange({
                    ...props.item,
                    dataMaskInfo: { ...mask, dataMaskType: "CUSTOM", valueExpr: e.currentTarget.value },
                  })
                }
                error={fieldError(props.error, `${f}.dataMaskInfo.valueExpr`)}
                disabled={props.readOnly}
              />
            )}
          </Group>
        )}
        {props.list === "rowFilterPolicyItems" && (
          <Textarea
            label="Row filter"
            description="A SQL predicate, e.g. region = 'eu'"
            value={props.item.rowFilterInfo?.filterExpr ?? ""}
            onChange={(e) => props.onChange({ ...props.item, rowFilterInfo: { filterExpr: e.currentTarget.value } })}
            error={fieldError(props.error, `${f}.rowFilterInfo`)}
            disabled={props.readOnly}
            autosize
            minRows={1}
          />
        )}
        {((props.def.policyConditions ?? []).length > 0 || (props.item.conditions ?? []).length > 0) && (
          <ConditionsEditor
            def={props.def}
            value={props.item.conditions ?? []}
            onChange={(conditions) => props.onChange({ ...props.item, conditions })}
            error={props.error}
            readOnly={props.readOnly}
            field={`${f}.conditions`}
            title={`Conditions of ${label.toLowerCase()}`}
            noun="Item condition"
          />
        )}
        {!props.readOnly && (
          <Group justify="flex-end">
            <Button size="compact-xs" variant="default" onClick={props.onRemove}>
              Remove {label.toLowerCase()}
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

/**
 * The policy editor, built from the service-def: resource levels, access types, principals, allow and
 * deny items for access policies, mask types or the filter for masking and row-filter policies,
 * conditions and validity schedules.
 */
export function PolicyEditor(props: {
  service: string;
  def: ServiceDef;
  policy?: Policy;
  /** The type of a new policy (0 access, 1 masking, 2 row filter); a stored policy keeps its own. */
  policyType?: number;
  readOnly: boolean;
  onSaved?: () => void;
}) {
  const { policy } = props;
  const policyType = policy?.policyType ?? props.policyType ?? 0;
  const def = useMemo(() => defForType(props.def, policyType), [props.def, policyType]);
  const lists = LISTS[policyType] ?? LISTS[0];
  const [name, setName] = useState(policy?.name ?? "");
  const [description, setDescription] = useState(policy?.description ?? "");
  const [labels, setLabels] = useState<string[]>(policy?.policyLabels ?? []);
  const [audit, setAudit] = useState(policy?.isAuditEnabled ?? true);
  const [chain, setChain] = useState<string[]>(() => initialChain(def, policy));
  const [values, setValues] = useState<Record<string, string[]>>(() =>
    Object.fromEntries(Object.entries(policy?.resources ?? {}).map(([k, v]) => [k, v.values])),
  );
  const [items, setItems] = useState<Record<ItemList, PolicyItem[]>>(() => {
    const first = (list: ItemList) =>
      list === lists[0]
        ? [
            emptyItem(
              list,
              defForType(props.def, policyType).accessTypes.map((a) => a.name),
            ),
          ]
        : [];
    return {
      policyItems: policy?.policyItems ?? first("policyItems"),
      allowExceptions: policy?.allowExceptions ?? [],
      denyPolicyItems: policy?.denyPolicyItems ?? [],
      denyExceptions: policy?.denyExceptions ?? [],
      dataMaskPolicyItems: policy?.dataMaskPolicyItems ?? first("dataMaskPolicyItems"),
      rowFilterPolicyItems: policy?.rowFilterPolicyItems ?? first("rowFilterPolicyItems"),
    };
  });
  const [conditions, setConditions] = useState<PolicyCondition[]>(policy?.conditions ?? []);
  const [schedules, setSchedules] = useState<ValiditySchedule[]>(policy?.validitySchedules ?? []);
  const [error, setError] = useState<unknown>(undefined);
  // the page reloads the policy after a save, which remounts the editor: the message rides in history state
  const [saved, setSaved] = useState<string>(() => (window.history.state as { saved?: string } | null)?.saved ?? "");
  const accessTypes = useMemo(() => def.accessTypes.map((a) => a.name), [def]);
  const maskTypes = useMemo(
    () => (props.def.dataMaskDef?.maskTypes ?? []).map((m) => ({ value: m.name, label: m.label || m.name })),
    [props.def],
  );

  const levelOptions = (i: number) => {
    const parent = i === 0 ? "" : chain[i - 1];
    return def.resources
      .filter((r) => (r.parent ?? "") === parent)
      .map((r) => ({ value: r.name, label: r.label || r.name }));
  };
  const setLevel = (i: number, resource: string | null) => {
    const next = chain.slice(0, i);
    if (resource) {
      next.push(resource);
      let parent = resource;
      for (;;) {
        const child = def.resources.filter((r) => r.parent === parent).sort((a, b) => a.level - b.level)[0];
        if (!child) break;
        next.push(child.name);
        parent = child.name;
      }
    }
    setChain(next);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved("");
    const resources: Policy["resources"] = {};
    for (const r of chain) {
      const v = values[r] ?? [];
      if (v.length > 0) resources[r] = { ...(policy?.resources[r] ?? {}), values: v };
    }
    const body = {
      name: name.trim(),
      description,
      policyLabels: labels,
      isAuditEnabled: audit,
      isEnabled: policy?.isEnabled ?? true,
      policyType,
      resources,
      ...Object.fromEntries(lists.map((l) => [l, items[l]])),
      conditions: conditions.filter((c) => c.type !== "" || c.values.length > 0),
      validitySchedules: schedules.map((v) =>
        Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === "string" && x.trim() !== "")),
      ),
    };
    try {
      const base = `/v1/services/${encodeURIComponent(props.service)}/policies`;
      const result = policy
        ? await api<Policy>("PUT", `${base}/${policy.id}`, { body: { ...stripPolicy(policy), ...body } })
        : await api<Policy>("POST", base, { body });
      const message = `Saved version ${result.version}`;
      setSaved(message);
      navigate(`/policies/${encodeURIComponent(props.service)}/${result.id}`, {
        replace: true,
        state: { saved: message },
      });
      props.onSaved?.();
    } catch (err) {
      setError(err);
    }
  };

  const updateItem = (list: ItemList, i: number, item: PolicyItem) =>
    setItems((s) => ({ ...s, [list]: s[list].map((x, j) => (j === i ? item : x)) }));
  const removeItem = (list: ItemList, i: number) =>
    setItems((s) => ({ ...s, [list]: s[list].filter((_, j) => j !== i) }));
  const shownFields = [
    "body.name",
    "body.description",
    "body.resources",
    "body.conditions",
    "body.validitySchedules",
    ...lists.map((l) => `body.${l}`),
  ];
  const unshown =
    error !== undefined &&
    !shownFields.some(
      (f) => fieldError(error, f) !== undefined || fieldError(error, f.replace(/s$/, "")) !== undefined,
    );

  return (
    <form onSubmit={submit} aria-label="Policy editor">
      <Stack>
        <Group grow align="flex-start" wrap="wrap">
          <TextInput
            label="Policy name"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            error={fieldError(error, "body.name")}
            disabled={props.readOnly}
          />
          <TagsInput label="Labels" value={labels} onChange={setLabels} disabled={props.readOnly} />
        </Group>
        <Textarea
          label="Description"
          value={description}
          onChange={(e) => setDescription(e.currentTarget.value)}
          error={fieldError(error, "body.description")}
          disabled={props.readOnly}
          autosize
          minRows={1}
        />
        <Checkbox
          label="Audit decisions of this policy"
          checked={audit}
          onChange={(e) => setAudit(e.currentTarget.checked)}
          disabled={props.readOnly}
        />
        <Paper withBorder p="sm">
          <Title order={3} size="h5" mb="xs">
            Resources
          </Title>
          <Stack gap="xs">
            {chain.map((r, i) => (
              <Group key={r} align="flex-start" grow wrap="wrap">
                <Select
                  label={`Level ${i + 1}`}
                  data={levelOptions(i)}
                  value={r}
                  onChange={(v) => setLevel(i, v)}
                  clearable={i > 0}
                  disabled={props.readOnly}
                  allowDeselect={false}
                />
                <LookupTagsInput
                  label={`${def.resources.find((d) => d.name === r)?.label || r} values`}
                  value={values[r] ?? []}
                  onChange={(v) => setValues((s) => ({ ...s, [r]: v }))}
                  lookup={(text, signal) => lookupResourceValues(props.service, r, text, signal)}
                  minChars={0}
                  error={fieldError(error, `body.resources.${r}`)}
                  disabled={props.readOnly}
                />
              </Group>
            ))}
            {fieldError(error, "body.resources") && !chain.some((r) => fieldError(error, `body.resources.${r}`)) && (
              <Text c="red.9" size="sm">
                {fieldError(error, "body.resources")}
              </Text>
            )}
          </Stack>
        </Paper>
        {lists.map((list) => (
          <Stack key={list} gap="xs">
            <Title order={3} size="h5">
              {LIST_TITLES[list][0]}
            </Title>
            {items[list].map((item, i) => (
              <ItemEditor
                // biome-ignore lint/suspicious/noArrayIndexKey: items have no id; the index is their identity in the body
                key={i}
                def={props.def}
                list={list}
                index={i}
                item={item}
                accessTypes={accessTypes}
                maskTypes={maskTypes}
                error={error}
                readOnly={props.readOnly}
                onChange={(x) => updateItem(list, i, x)}
                onRemove={() => removeItem(list, i)}
              />
            ))}
            {!props.readOnly && (
              <Group>
                <Button
                  size="xs"
                  variant="default"
                  onClick={() => setItems((s) => ({ ...s, [list]: [...s[list], emptyItem(list, accessTypes)] }))}
                >
                  Add {LIST_TITLES[list][1].toLowerCase()} item
                </Button>
              </Group>
            )}
          </Stack>
        ))}
        <ConditionsEditor
          def={props.def}
          value={conditions}
          onChange={setConditions}
          error={error}
          readOnly={props.readOnly}
          field="body.conditions"
          title="Policy conditions"
          noun="Condition"
        />
        <ValiditySchedules value={schedules} onChange={setSchedules} error={error} readOnly={props.readOnly} />
        {unshown && <FormError error={error} />}
        {error !== undefined && !unshown && (
          <Text c="red.9" size="sm" role="alert">
            The server refused the policy: see the fields marked in red.
          </Text>
        )}
        {saved && (
          <Text c="teal.9" size="sm" role="status">
            {saved}
          </Text>
        )}
        {!props.readOnly && (
          <Group>
            <Button type="submit">{policy ? "Save policy" : "Create policy"}</Button>
          </Group>
        )}
      </Stack>
    </form>
  );
}

const PUT_FIELDS = ["policyPriority", "isDenyAllElse", "additionalResources", "zoneName", "options"];

/** The fields the editor does not show, kept as they are when the policy is replaced. */
function stripPolicy(p: Policy): Record<string, unknown> {
  const source = p as unknown as Record<string, unknown>;
  return Object.fromEntries(PUT_FIELDS.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}
