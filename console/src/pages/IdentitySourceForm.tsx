import {
  Button,
  Checkbox,
  Group,
  NativeSelect,
  PasswordInput,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { type FormEvent, useState } from "react";
import { api } from "../api/client.ts";
import { FormError, fieldError } from "../components/FormError.tsx";

/** An identity source as the API shows it: its settings and how its bind credential is kept, never the credential. */
export interface IdentitySource {
  id: string;
  orgId: string;
  name: string;
  kind: string;
  config: Record<string, string | number | boolean | null | undefined>;
  credential: { kind: "stored" | "env" | "none"; env: string | null };
  updatedAt: string;
}

/** The LDAP settings the form edits, in the API's names, with what each input says. */
const TEXT_SETTINGS: { key: string; label: string; placeholder?: string; required?: boolean; advanced?: boolean }[] = [
  { key: "url", label: "URL", placeholder: "ldaps://ldap.example.com:636", required: true },
  { key: "baseDn", label: "Base DN", placeholder: "dc=example,dc=com", required: true },
  { key: "bindDn", label: "Bind DN", placeholder: "empty for an anonymous bind" },
  { key: "userBaseDn", label: "User base DN", placeholder: "ou=people,dc=example,dc=com" },
  { key: "groupBaseDn", label: "Group base DN", placeholder: "ou=groups,dc=example,dc=com" },
  { advanced: true, key: "userFilter", label: "User filter", placeholder: "(objectClass=inetOrgPerson)" },
  { advanced: true, key: "groupFilter", label: "Group filter", placeholder: "(objectClass=groupOfNames)" },
  { advanced: true, key: "userNameAttribute", label: "User name attribute", placeholder: "uid" },
  { advanced: true, key: "groupNameAttribute", label: "Group name attribute", placeholder: "cn" },
  { advanced: true, key: "groupMemberAttribute", label: "Group member attribute", placeholder: "member" },
  { advanced: true, key: "userEmailAttribute", label: "User email attribute", placeholder: "mail" },
  { advanced: true, key: "userDisplayNameAttribute", label: "User display name attribute", placeholder: "displayName" },
  { advanced: true, key: "entryIdAttribute", label: "Entry id attribute", placeholder: "entryUUID (AD: objectGUID)" },
  {
    advanced: true,
    key: "changeAttribute",
    label: "Change attribute",
    placeholder: "modifyTimestamp (AD: uSNChanged)",
  },
  { key: "syncSchedule", label: "Sync schedule", placeholder: "1h, or a cron expression (UTC); empty = none" },
  { advanced: true, key: "fullSyncEvery", label: "Full sync every", placeholder: "24h" },
];
const NUMBER_SETTINGS = [
  { advanced: true, key: "timeoutMs", label: "Timeout (ms)", placeholder: "5000" },
  { advanced: true, key: "pageSize", label: "Page size", placeholder: "500" },
];
const CHOICE_SETTINGS = [
  { advanced: true, key: "membership", label: "Membership", options: ["", "dn", "uid", "memberOf"] },
  { advanced: true, key: "memberOfNesting", label: "memberOf nesting", options: ["", "walk", "inChain"] },
];

type Credential = "keep" | "none" | "stored" | "env";

const textOf = (v: unknown) => (v === undefined || v === null ? "" : String(v));

/**
 * Registers (`POST /v1/identity-sources`) or edits (`PATCH /v1/identity-sources/{id}`) an LDAP
 * source. Every setting is an input named after the API's field, so the server's violation
 * (`body.config.url`) shows under it. On registration, empty inputs are left out (the server's
 * defaults apply); on edit only changed settings are sent. The bind password is write-only: the
 * API never returns it, the input starts empty, and it is sent only when typed.
 */
export function IdentitySourceForm({
  source,
  onSaved,
  onCancel,
}: {
  source?: IdentitySource;
  onSaved: (saved: IdentitySource) => void;
  onCancel: () => void;
}) {
  const initial: Record<string, string | boolean> = {
    name: source?.name ?? "",
    startTls: source?.config.startTls === true,
  };
  for (const s of [...TEXT_SETTINGS, ...NUMBER_SETTINGS, ...CHOICE_SETTINGS])
    initial[s.key] = textOf(source?.config[s.key]);
  const [values, setValues] = useState(initial);
  const [credential, setCredential] = useState<Credential>(source ? "keep" : "none");
  const [password, setPassword] = useState("");
  const [env, setEnv] = useState(source?.credential.env ?? "");
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [more, setMore] = useState(false);
  const text = (k: string) => values[k] as string;
  const set = (k: string, v: string | boolean) => setValues((all) => ({ ...all, [k]: v }));

  /** The config to send: on edit the changed settings only; on registration the filled ones. */
  const config = () => {
    const out: Record<string, unknown> = {};
    for (const s of [...TEXT_SETTINGS, ...CHOICE_SETTINGS]) {
      const v = text(s.key).trim();
      if (source ? v === initial[s.key] : v === "") continue;
      out[s.key] = v === "" && s.key === "syncSchedule" ? null : v;
    }
    for (const s of NUMBER_SETTINGS) {
      const v = text(s.key).trim();
      if (source ? v === initial[s.key] : v === "") continue;
      // text that is not a number is sent as typed, so the server names the field
      out[s.key] = v !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
    }
    if (values.startTls !== initial.startTls) out.startTls = values.startTls;
    return out;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    const secret =
      credential === "stored"
        ? { bindCredential: password }
        : credential === "env"
          ? { bindCredentialEnv: env.trim() }
          : {};
    try {
      const name = text("name").trim();
      const saved = source
        ? await api<IdentitySource>("PATCH", `/v1/identity-sources/${source.id}`, {
            body: { ...(name !== source.name ? { name } : {}), config: config(), ...secret },
          })
        : await api<IdentitySource>("POST", "/v1/identity-sources", {
            body: { name, kind: "ldap", config: config(), ...secret },
          });
      setPassword("");
      onSaved(saved);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const fields = [
    "body.name",
    "body.bindCredential",
    "body.bindCredentialEnv",
    ...[...TEXT_SETTINGS, ...NUMBER_SETTINGS, ...CHOICE_SETTINGS, { key: "startTls" }].map(
      (s) => `body.config.${s.key}`,
    ),
  ];
  const named = fields.some((f) => fieldError(error, f) !== undefined);
  // the less used settings fold away, and open by themselves when the server names one of them
  const shown = (s: { key: string; advanced?: boolean }) =>
    !s.advanced || more || fieldError(error, `body.config.${s.key}`) !== undefined;
  const credentialNow =
    source?.credential.kind === "stored"
      ? "a stored password (never shown)"
      : source?.credential.kind === "env"
        ? `the environment variable ${source.credential.env}`
        : "none (anonymous)";
  return (
    <form onSubmit={submit} aria-label={source ? "Edit identity source" : "Register an identity source"}>
      <Stack gap="sm">
        <Title order={3} size="h4">
          {source ? `Edit ${source.name}` : "Register an LDAP directory"}
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
          <TextInput
            label="Name"
            required
            value={text("name")}
            onChange={(e) => set("name", e.currentTarget.value)}
            error={fieldError(error, "body.name")}
          />
          {TEXT_SETTINGS.filter(shown).map((s) => (
            <TextInput
              key={s.key}
              label={s.label}
              placeholder={s.placeholder}
              required={s.required && !source}
              value={text(s.key)}
              onChange={(e) => set(s.key, e.currentTarget.value)}
              error={fieldError(error, `body.config.${s.key}`)}
            />
          ))}
          {NUMBER_SETTINGS.filter(shown).map((s) => (
            <TextInput
              key={s.key}
              label={s.label}
              placeholder={s.placeholder}
              inputMode="numeric"
              value={text(s.key)}
              onChange={(e) => set(s.key, e.currentTarget.value)}
              error={fieldError(error, `body.config.${s.key}`)}
            />
          ))}
          {CHOICE_SETTINGS.filter(shown).map((s) => (
            <NativeSelect
              key={s.key}
              label={s.label}
              data={s.options.map((o) => ({ value: o, label: o || "the server's default" }))}
              value={text(s.key)}
              onChange={(e) => set(s.key, e.currentTarget.value)}
              error={fieldError(error, `body.config.${s.key}`)}
            />
          ))}
        </SimpleGrid>
        <Group>
          <Button size="xs" variant="subtle" onClick={() => setMore((m) => !m)} aria-expanded={more}>
            {more ? "Fewer settings" : "More settings (filters, attributes, timeouts)"}
          </Button>
        </Group>
        <Checkbox
          label="StartTLS"
          checked={values.startTls as boolean}
          onChange={(e) => set("startTls", e.currentTarget.checked)}
          error={fieldError(error, "body.config.startTls")}
        />
        {source && (
          <Text size="sm" c="dimmed">
            Bind credential now: {credentialNow}.
          </Text>
        )}
        <Group align="flex-start" gap="sm" wrap="wrap">
          <NativeSelect
            label="Bind credential"
            data={[
              ...(source
                ? [{ value: "keep", label: "keep as it is" }]
                : [{ value: "none", label: "none (anonymous)" }]),
              { value: "stored", label: "a password, stored encrypted" },
              { value: "env", label: "an environment variable of the server" },
            ]}
            value={credential}
            onChange={(e) => setCredential(e.currentTarget.value as Credential)}
          />
          {credential === "stored" && (
            <PasswordInput
              label="Bind password"
              description="Write-only: it is never shown again"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              error={fieldError(error, "body.bindCredential")}
            />
          )}
          {credential === "env" && (
            <TextInput
              label="Environment variable"
              placeholder="LDAP_BIND_PASSWORD"
              value={env}
              onChange={(e) => setEnv(e.currentTarget.value)}
              error={fieldError(error, "body.bindCredentialEnv")}
            />
          )}
        </Group>
        {error !== undefined && !named && <FormError error={error} />}
        {error !== undefined && named && (
          <Text c="red.9" size="sm" role="alert">
            The server refused the settings: see {[...new Set(fields.filter((f) => fieldError(error, f)))].join(", ")},
            marked in red.
          </Text>
        )}
        <Group gap="xs">
          <Button type="submit" loading={busy}>
            {source ? "Save identity source" : "Register identity source"}
          </Button>
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
