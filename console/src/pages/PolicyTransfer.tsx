import { Button, Group, List, NativeSelect, Paper, Stack, Text, Title } from "@mantine/core";
import { useState } from "react";
import { api } from "../api/client.ts";
import { FormError } from "../components/FormError.tsx";

/** `POST /v1/services/{service}/import`'s answer: what changed, or would change on a dry run. */
interface ImportReport {
  mode: "merge" | "replace";
  dryRun: boolean;
  applied: boolean;
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
  failed: { index: number; name: string; error: string; details: { field: string; message: string }[] }[];
}

const enc = encodeURIComponent;

/** Saves `body` as a JSON file through a download link (no server round trip beyond the export itself). */
function download(name: string, body: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Names({ title, names }: { title: string; names: string[] }) {
  if (names.length === 0) return null;
  return (
    <div>
      <Text size="sm" fw={600}>
        {title} ({names.length})
      </Text>
      <Text size="sm">{names.slice(0, 50).join(", ") + (names.length > 50 ? ", …" : "")}</Text>
    </div>
  );
}

/**
 * Export and import of a service's policies through the API's Ranger-format routes: export saves
 * the file; import reads a file, and "Dry run" shows what would be created, updated and deleted
 * before "Import" applies it (all or nothing). Import is offered only to those who may write.
 */
export function PolicyTransfer({ service, canWrite }: { service: string; canWrite: boolean }) {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [mode, setMode] = useState<"merge" | "replace">("merge");
  const [report, setReport] = useState<ImportReport | null>(null);

  const exportAll = async () => {
    setError(undefined);
    setBusy("export");
    try {
      const body = await api<unknown>("GET", `/v1/services/${enc(service)}/export`, { timeoutMs: 120_000 });
      download(`Ranger_Policies_${service}.json`, body);
    } catch (err) {
      setError(err);
    } finally {
      setBusy("");
    }
  };

  const importFile = async (dryRun: boolean) => {
    setError(undefined);
    setReport(null);
    if (!file) {
      setError(new Error("choose a policy file (a Ranger export) first"));
      return;
    }
    setBusy(dryRun ? "dry" : "import");
    try {
      let body: unknown;
      try {
        body = JSON.parse(await file.text());
      } catch (err) {
        throw new Error(`${file.name} is not JSON: ${(err as Error).message}`);
      }
      const result = await api<ImportReport>("POST", `/v1/services/${enc(service)}/import`, {
        query: { mode, dryRun },
        body,
        timeoutMs: 120_000,
      });
      setReport(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy("");
    }
  };

  return (
    <Paper withBorder p="sm" component="section" aria-label="Import and export">
      <Title order={3} size="h5" mb="xs">
        Import and export
      </Title>
      <Stack gap="xs">
        <Group align="flex-end" gap="sm" wrap="wrap">
          <Button size="xs" variant="default" onClick={exportAll} loading={busy === "export"}>
            Export policies
          </Button>
          {canWrite && (
            <>
              <label>
                <Text size="sm" fw={500} component="span" display="block">
                  Policy file
                </Text>
                <input
                  type="file"
                  accept="application/json,.json"
                  aria-label="Policy file"
                  onChange={(e) => {
                    setFile(e.currentTarget.files?.[0] ?? null);
                    setReport(null);
                  }}
                />
              </label>
              <NativeSelect
                size="xs"
                label="Import mode"
                data={[
                  { value: "merge", label: "merge: create and update by name" },
                  { value: "replace", label: "replace: also delete policies the file lacks" },
                ]}
                value={mode}
                onChange={(e) => setMode(e.currentTarget.value as "merge" | "replace")}
              />
              <Button size="xs" variant="default" onClick={() => importFile(true)} loading={busy === "dry"}>
                Dry run
              </Button>
              <Button size="xs" onClick={() => importFile(false)} loading={busy === "import"}>
                Import
              </Button>
            </>
          )}
        </Group>
        <FormError error={error} />
        {report && (
          <div role="status" data-testid="import-report">
            <Text size="sm" fw={600} c={report.failed.length > 0 ? "red.9" : "teal.9"}>
              {report.failed.length > 0
                ? `Nothing imported: ${report.failed.length} policies failed`
                : report.dryRun
                  ? `Dry run (${report.mode}): nothing changed yet`
                  : `Imported (${report.mode})`}
            </Text>
            <Names title={report.dryRun ? "Would create" : "Created"} names={report.created} />
            <Names title={report.dryRun ? "Would update" : "Updated"} names={report.updated} />
            <Names title={report.dryRun ? "Would delete" : "Deleted"} names={report.deleted} />
            <Names title="Unchanged" names={report.unchanged} />
            {report.failed.length > 0 && (
              <List size="sm">
                {report.failed.map((f) => (
                  <List.Item key={f.index}>
                    policies[{f.index}] {f.name}: {f.error}
                    {f.details.map((d) => (
                      <div key={d.field + d.message}>
                        <code>{d.field}</code>: {d.message}
                      </div>
                    ))}
                  </List.Item>
                ))}
              </List>
            )}
          </div>
        )}
      </Stack>
    </Paper>
  );
}
