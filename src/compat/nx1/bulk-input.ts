import type { Readable } from "node:stream";
import { BulkInputInvalid } from "../../errors.ts";
import { rowKey } from "./policy-row.ts";

/** A workbook cell as the parse preview returns it: str, number, bool or null. */
export type CellValue = string | number | boolean | null;

/**
 * Yields the items of a JSON array as they arrive, holding one item at a time: a 100,000-row
 * upload streams through in constant memory. Only a top-level array is accepted.
 *
 * @throws BULK_INPUT_INVALID when the text is not a JSON array of objects.
 */
export async function* jsonArrayItems(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let depth = 0;
  let inString = false;
  let escaped = false;
  let started = false;
  let finished = false;
  let item = "";
  const fail = (why: string) => BulkInputInvalid(`rows: is not a JSON array of PolicyRow objects: ${why}`);
  const parse = (text: string) => {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw fail((err as Error).message);
    }
  };
  for await (const chunk of chunks) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') {
        if (depth <= 1) throw fail("rows must be objects");
        inString = true;
      } else if (c === "{" || c === "[") {
        if (!started) {
          if (c !== "[") throw fail("it does not start with `[`");
          started = true;
          depth = 1;
          from = i + 1;
          continue;
        }
        if (depth === 1) {
          item = "";
          from = i;
        }
        depth++;
      } else if (c === "}" || c === "]") {
        depth--;
        if (depth === 1) {
          item += text.slice(from, i + 1);
          from = i + 1;
          yield parse(item);
          item = "";
        } else if (depth === 0) {
          finished = true;
          from = i + 1;
        } else if (depth < 0) throw fail("unbalanced brackets");
      } else if (!started && !/\s/.test(c)) {
        throw fail("it does not start with `[`");
      } else if (depth === 1 && !/[\s,]/.test(c)) {
        throw fail(`unexpected \`${c}\` between rows (rows must be objects)`);
      } else if (finished && !/\s/.test(c)) {
        throw fail("text after the closing `]`");
      }
    }
    if (depth > 1) item += text.slice(from);
  }
  if (!started || !finished) throw fail(started ? "it ends before the closing `]`" : "it is empty");
}

function cellValue(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (value instanceof Date) return value.toISOString();
  const v = value as { richText?: { text: string }[]; text?: unknown; result?: unknown; error?: string };
  if (v.richText) return v.richText.map((r) => r.text).join("");
  if (v.text !== undefined) return cellValue(v.text);
  if (v.result !== undefined) return cellValue(v.result);
  if (v.error) return null;
  return String(value);
}

/**
 * exceljs is loaded on the first workbook rather than at startup: it is the largest dependency
 * (about 0.45 s to import), and only the Nx1 bulk upload and its template use it.
 */
async function loadExcel(): Promise<typeof import("exceljs")> {
  return (await import("exceljs")).default;
}

/**
 * Yields the rows of the first worksheet of an .xlsx stream, keyed by PolicyRow field names
 * taken from the header row (`Policy Type` → `policy_type`); blank rows are skipped. The workbook
 * is read as a stream (exceljs' streaming reader), so large uploads are not held in memory.
 *
 * @throws BULK_INPUT_INVALID when the upload is not a readable .xlsx workbook.
 */
export async function* workbookRows(stream: Readable): AsyncGenerator<Record<string, CellValue>> {
  const ExcelJS = await loadExcel();
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(stream, {
    sharedStrings: "cache",
    hyperlinks: "ignore",
    styles: "ignore",
    worksheets: "emit",
    entries: "emit",
  });
  let sheetSeen = false;
  try {
    for await (const sheet of reader) {
      if (sheetSeen) {
        for await (const _row of sheet) {
          // drain the other worksheets: only the first one holds policies
        }
        continue;
      }
      sheetSeen = true;
      let headers: string[] | null = null;
      for await (const row of sheet) {
        const values = (row.values as unknown[]).slice(1).map(cellValue);
        if (!headers) {
          headers = values.map((v) => rowKey(String(v ?? "")));
          continue;
        }
        if (values.every((v) => v === null || v === "")) continue;
        const out: Record<string, CellValue> = {};
        headers.forEach((h, i) => {
          if (h) out[h] = values[i] ?? null;
        });
        yield out;
      }
    }
  } catch (err) {
    if ((err as { code?: string }).code === "BULK_INPUT_INVALID") throw err;
    throw BulkInputInvalid(`excel_file: is not a readable .xlsx workbook: ${(err as Error).message}`, { cause: err });
  }
  if (!sheetSeen) throw BulkInputInvalid("excel_file: the workbook has no worksheet");
}

/** The downloadable template: the PolicyRow headers and one example row per policy type. */
export async function templateWorkbook(headers: readonly string[]): Promise<Buffer> {
  const ExcelJS = await loadExcel();
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet("policies");
  sheet.addRow([...headers]);
  const example: Record<string, CellValue> = {
    name: "analysts-read-sales",
    description: "Analysts read the sales schemas",
    catalog: "hive",
    schemas: "sales, sales_eu",
    tables: "*",
    columns: "",
    users: "",
    groups: "analysts",
    roles: "",
    accesses: "select, show",
    deny: false,
    policy_type: "access",
    priority: "normal",
    enabled: true,
    labels: "bulk",
    overwrite: false,
  };
  sheet.addRow(headers.map((h) => example[h] ?? null));
  sheet.getRow(1).font = { bold: true };
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
