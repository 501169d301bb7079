import type { Readable } from "node:stream";
import type { MultipartFile, MultipartValue } from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Ajv } from "ajv";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import { BulkInputInvalid } from "../../errors.ts";
import type { Db } from "../../storage/db.ts";
import { runBulk, type SourceRow } from "./bulk.ts";
import { type CellValue, jsonArrayItems, templateWorkbook, workbookRows } from "./bulk-input.ts";
import { nx1ErrorShape } from "./errors.ts";
import { nx1Service } from "./policies.routes.ts";
import { POLICY_ROW_FIELDS } from "./policy-row.ts";
import {
  BulkPolicyCreateResponse,
  BulkPolicyParsePreviewResponse,
  EXTENSION_NOTE,
  errorResponses,
  NX1_SECURITY,
  NX1_TAGS,
} from "./schemas.ts";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

const BulkBody = Type.Object(
  {
    rows: Type.Optional(
      Type.Union([Type.String(), Type.Null()], {
        title: "Rows",
        description: "JSON array of PolicyRow (docs/nx1-bulk.md), as a text field or a file part (streamed)",
      }),
    ),
    excel_file: Type.Optional(
      Type.Union([Type.String({ format: "binary", contentMediaType: XLSX }), Type.Null()], {
        title: "Excel File",
        description: "An .xlsx workbook: a header row of PolicyRow field names, one row per policy",
      }),
    ),
  },
  { title: "Body_create_policies_bulk_api_govern_data_access_policies_bulk_post" },
);
const ParseBody = Type.Object(
  {
    excel_file: Type.String({
      format: "binary",
      contentMediaType: XLSX,
      title: "Excel File",
      description: ".xlsx file to parse",
    }),
  },
  { title: "Body_parse_bulk_excel_preview_api_govern_data_access_policies_bulk_parse_post" },
);

/**
 * Multipart bodies are read by the handler as streams, so the body schema only documents the
 * form (OpenAPI); query strings are still validated with the app's options.
 */
const ajv = new Ajv({ coerceTypes: "array", useDefaults: true, allErrors: true, strict: false });
function multipartValidator({ schema, httpPart }: { schema: object; httpPart?: string }) {
  if (httpPart === "body") return () => true;
  return ajv.compile(schema);
}

function requireMultipart(request: FastifyRequest): void {
  if (!request.isMultipart()) {
    throw BulkInputInvalid("body: must be multipart/form-data with `rows` and/or `excel_file`");
  }
}

async function* oneChunk(text: string): AsyncGenerator<string> {
  yield text;
}

async function drain(part: MultipartFile | MultipartValue): Promise<void> {
  if (part.type === "file") {
    for await (const _chunk of part.file) {
      // discard parts this route does not read
    }
  }
}

/** `POST .../policies/bulk`, `POST .../bulk/parse` and `GET .../bulk/template`. */
export function nx1BulkRoutes(db: Db, serviceName: string): FastifyPluginAsyncTypebox {
  let template: Promise<Buffer> | undefined;
  return async (app) => {
    app.post(
      "/api/govern/data-access/policies/bulk",
      {
        config: { ability: "policy.write", errorShape: nx1ErrorShape },
        validatorCompiler: multipartValidator,
        schema: {
          tags: NX1_TAGS,
          summary: "Create or update many Ranger policies in one request",
          operationId: "create_policies_bulk_api_govern_data_access_policies_bulk_post",
          description:
            "Nx1-compatible. Rows are applied independently; each result line names its row and, on failure, the field. A row naming several schemas yields one policy (and line) per schema. `?atomic=true` (Gatehouse extension) applies all or nothing. Neither field, or an unreadable workbook, is 400. Uploads are streamed.",
          security: NX1_SECURITY,
          consumes: ["multipart/form-data"],
          querystring: Type.Object({
            atomic: Type.Optional(
              Type.Boolean({ default: false, description: `${EXTENSION_NOTE} Apply every row or none.` }),
            ),
          }),
          body: BulkBody,
          response: { 200: BulkPolicyCreateResponse, ...errorResponses(400, 422, 503) },
        },
      },
      async (request) => {
        requireMultipart(request);
        const target = await nx1Service(db.kysely, serviceName);
        let index = 0;
        let sawInput = false;
        const parts = request.parts();
        async function* sourceRows(): AsyncGenerator<SourceRow> {
          for await (const part of parts) {
            let items: AsyncIterable<unknown> | null = null;
            if (part.fieldname === "rows") {
              items =
                part.type === "file" ? jsonArrayItems(part.file) : jsonArrayItems(oneChunk(String(part.value ?? "")));
            } else if (part.fieldname === "excel_file") {
              if (part.type !== "file") throw BulkInputInvalid("excel_file: must be a file upload (.xlsx)");
              items = workbookRows(part.file as Readable);
            }
            if (!items) {
              await drain(part);
              continue;
            }
            sawInput = true;
            for await (const row of items) yield { index: index++, row };
          }
          if (!sawInput) {
            throw BulkInputInvalid(
              "body: send `rows` (a JSON array of PolicyRow) and/or `excel_file` (an .xlsx workbook)",
            );
          }
        }
        return runBulk(db, auditContextOf(request), target, sourceRows(), request.query.atomic === true);
      },
    );

    app.post(
      "/api/govern/data-access/policies/bulk/parse",
      {
        config: { ability: "policy.read", errorShape: nx1ErrorShape },
        validatorCompiler: multipartValidator,
        schema: {
          tags: NX1_TAGS,
          summary: "Parse an .xlsx into row dicts for a client-side preview before submit",
          operationId: "parse_bulk_excel_preview_api_govern_data_access_policies_bulk_parse_post",
          description:
            "Nx1-compatible. The first worksheet's rows keyed by PolicyRow field (from the header row), values as text, number, boolean or null; nothing is validated, so the UI can show invalid rows for correction.",
          security: NX1_SECURITY,
          consumes: ["multipart/form-data"],
          body: ParseBody,
          response: { 200: BulkPolicyParsePreviewResponse, ...errorResponses(400, 422) },
        },
      },
      async (request) => {
        requireMultipart(request);
        const rows: Record<string, CellValue>[] = [];
        let found = false;
        for await (const part of request.parts()) {
          if (part.fieldname === "excel_file" && part.type === "file") {
            found = true;
            for await (const row of workbookRows(part.file as Readable)) rows.push(row);
          } else await drain(part);
        }
        if (!found) throw BulkInputInvalid("excel_file: is required (an .xlsx workbook)");
        return { rows };
      },
    );

    app.get(
      "/api/govern/data-access/policies/bulk/template",
      {
        config: { ability: "policy.read", errorShape: nx1ErrorShape },
        schema: {
          tags: NX1_TAGS,
          summary: "Download the bulk upload workbook template",
          operationId: "bulk_template_api_govern_data_access_policies_bulk_template_get",
          description: `${EXTENSION_NOTE} An .xlsx with the PolicyRow headers and an example row.`,
          security: NX1_SECURITY,
          produces: [XLSX],
          response: {
            200: Type.String({ format: "binary", contentMediaType: XLSX, description: "The workbook" }),
            ...errorResponses(503),
          },
        },
      },
      async (_request, reply) => {
        // the workbook never changes: built once (about 150 ms of the event loop each time, which
        // held /healthz past 100 ms under npm run fuzz:http); a failed build is tried again next time
        template ??= templateWorkbook(POLICY_ROW_FIELDS).catch((err: unknown) => {
          template = undefined;
          throw err;
        });
        const file = await template;
        return reply
          .header("content-type", XLSX)
          .header("content-disposition", 'attachment; filename="policy-bulk-template.xlsx"')
          .send(file as never);
      },
    );
  };
}
