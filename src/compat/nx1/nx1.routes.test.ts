import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import ExcelJS from "exceljs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import {
  BulkPolicyCreateResponse,
  BulkPolicyParsePreviewResponse,
  PolicyGetResponse,
  ServiceDefMetadataResponse,
} from "./schemas.ts";

const SEEDS = new URL("../../../../shared/seeds/", import.meta.url);

/** The components of a seed's OpenAPI document, registered in ajv as `#/components/schemas/<name>`. */
function seedSchemas(ajv: Ajv, file: string): void {
  const text = readFileSync(new URL(file, SEEDS), "utf8");
  const yaml = text.slice(text.indexOf("````yaml") + 8);
  const doc = parseYaml(yaml.slice(yaml.indexOf("\n") + 1, yaml.indexOf("````"))) as {
    components: { schemas: Record<string, object> };
  };
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    if (!ajv.getSchema(name))
      ajv.addSchema(JSON.parse(JSON.stringify(schema).replaceAll("#/components/schemas/", "")), name);
  }
}

const ajv = new Ajv({ strict: false, allErrors: true });
seedSchemas(ajv, "000_a699692cfac6016f.txt");
seedSchemas(ajv, "001_ea772540d3e2f656.txt");
// Schemas of docs/nx1-api.md (reproduced in schemas.ts field for field): the GET response, the
// service-def metadata, the bulk response and the parse preview.
ajv.addSchema(PolicyGetResponse, "PolicyGetResponse");
ajv.addSchema(ServiceDefMetadataResponse, "ServiceDefMetadataResponse");
ajv.addSchema(BulkPolicyCreateResponse, "BulkPolicyCreateResponse");
ajv.addSchema(BulkPolicyParsePreviewResponse, "BulkPolicyParsePreviewResponse");

/** Asserts that a body satisfies a schema of the seeds or of nx1-api.md. */
function expectShape(schema: string, body: unknown): void {
  const validate = ajv.getSchema(schema) as ValidateFunction;
  const ok = validate(body);
  expect(ok, `${schema}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(body).slice(0, 500)}`).toBe(true);
}

/** Asserts an ErrorResponse with the given status in `code` and a message containing `text`. */
function expectError(res: { statusCode: number; json(): unknown }, status: number, text?: string): void {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: string; code: number };
  expectShape("ErrorResponse", body);
  expect(body.code).toBe(status);
  if (text) expect(body.error).toContain(text);
}

/** A multipart/form-data body: text fields and files. */
function multipart(parts: { name: string; value: string | Buffer; filename?: string; type?: string }[]) {
  const boundary = `----gatehouse${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename) head += `; filename="${p.filename}"\r\nContent-Type: ${p.type ?? "application/octet-stream"}`;
    chunks.push(
      Buffer.from(`${head}\r\n\r\n`),
      Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value),
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { "content-type": `multipart/form-data; boundary=${boundary}` } };
}

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async function workbook(rows: unknown[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const sheet = wb.addWorksheet("policies");
  for (const row of rows) sheet.addRow(row);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** The seed's example request, made unique. */
function seedPolicy(name = uniqueName("nx1"), schema = uniqueName("sch")) {
  return {
    name,
    description: "Analysts read the sales schema",
    resources: {
      catalog: { values: ["iceberg"] },
      schema: { values: [schema] },
      table: { values: ["*"] },
      column: { values: ["*"] },
    },
    policyType: 0,
    policyPriority: 0,
    isEnabled: true,
    isAuditEnabled: true,
    isDenyAllElse: false,
    policyItems: [
      {
        accesses: [{ type: "select", isAllowed: true }],
        users: ["alice"],
        groups: ["analysts"],
        roles: [],
        delegateAdmin: false,
      },
    ],
    policyLabels: ["nx1"],
  };
}

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});

const POLICIES = "/api/govern/data-access/policies";

describe(`Nx1 policies (${TEST_BACKEND})`, () => {
  it("creates (201), refuses a taken name (409), updates with overwrite (200) and gets the policy", async () => {
    const body = seedPolicy();
    const created = await t.request({ method: "POST", url: POLICIES, payload: body });
    expect(created.statusCode).toBe(201);
    expectShape("PolicyCreateResponse", created.json());
    expect(created.json()).toMatchObject({ policy_name: body.name, status: "created" });
    const id = created.json().policy_id;

    const taken = await t.request({ method: "POST", url: POLICIES, payload: body });
    expectError(taken, 409, "overwrite=true");

    const updated = await t.request({
      method: "POST",
      url: POLICIES,
      payload: { ...body, description: "changed", overwrite: true },
    });
    expect(updated.statusCode).toBe(200);
    expectShape("PolicyCreateResponse", updated.json());
    expect(updated.json()).toEqual({ policy_id: id, policy_name: body.name, status: "updated" });

    const got = await t.request({ method: "GET", url: `${POLICIES}/${id}` });
    expect(got.statusCode).toBe(200);
    expectShape("PolicyGetResponse", got.json());
    expect(got.json()).toMatchObject({
      policy_id: id,
      policy_name: body.name,
      service: "trino",
      description: "changed",
      policyLabels: ["nx1"],
      resources: { catalog: { values: ["iceberg"], isExcludes: false, isRecursive: false } },
    });
  });

  it.each([
    [{ resources: { catalog: { values: ["c"] }, bogus: { values: ["x"] } } }, "body.resources.bogus"],
    [{ policyItems: [{ users: ["a"], accesses: [{ type: "fly" }] }] }, "body.policyItems[0].accesses[0].type"],
    [{ resources: { catalog: { values: ["c"] }, table: { values: ["t"] } } }, "`schema` is required above `table`"],
    [{ policyType: 1 }, "cannot have policyItems"],
  ])("answers 400 naming the field for semantic error %#", async (change, text) => {
    const res = await t.request({ method: "POST", url: POLICIES, payload: { ...seedPolicy(), ...change } });
    expectError(res, 400, text);
  });

  it("answers 422 ErrorResponse for schema errors and malformed JSON", async () => {
    const { name: _name, ...noName } = seedPolicy();
    expectError(await t.request({ method: "POST", url: POLICIES, payload: noName }), 422, "body.name");
    expectError(
      await t.request({ method: "POST", url: POLICIES, payload: { ...seedPolicy(), resources: "everything" } }),
      422,
      "body.resources",
    );
    // Pydantic refuses a string for a list; the policy must not be created from `["hive"]`.
    const scalarValues = seedPolicy();
    expectError(
      await t.request({
        method: "POST",
        url: POLICIES,
        payload: { ...scalarValues, resources: { ...scalarValues.resources, catalog: { values: "hive" } } },
      }),
      422,
      "body.resources.catalog.values: must be array",
    );
    expect((await t.request({ method: "GET", url: `${POLICIES}?name=${scalarValues.name}` })).json().total).toBe(0);
    expectError(
      await t.request({
        method: "POST",
        url: POLICIES,
        payload: { ...seedPolicy(), policyItems: [{ accesses: [{}] }] },
      }),
      422,
      "body.policyItems[0].accesses[0].type",
    );
    expectError(
      await t.request({
        method: "POST",
        url: POLICIES,
        payload: "{not json",
        headers: { "content-type": "application/json" },
      }),
      422,
    );
  });

  it("answers 404 ErrorResponse for an unknown policy and 401 ErrorResponse without credentials", async () => {
    expectError(await t.request({ method: "GET", url: `${POLICIES}/987654321` }), 404, "987654321");
    expectError(await t.app.inject({ method: "GET", url: `${POLICIES}/1` }), 401);
  });

  it("lists and deletes (extensions)", async () => {
    const body = seedPolicy(uniqueName("listme"));
    const id = (await t.request({ method: "POST", url: POLICIES, payload: body })).json().policy_id;
    const list = await t.request({ method: "GET", url: `${POLICIES}?name=${body.name}` });
    expect(list.json().total).toBe(1);
    expectShape("PolicyGetResponse", list.json().items[0]);
    expect((await t.request({ method: "DELETE", url: `${POLICIES}/${id}` })).statusCode).toBe(204);
    expectError(await t.request({ method: "DELETE", url: `${POLICIES}/${id}` }), 404);
  });

  it("describes the service-def", async () => {
    const res = await t.request({ method: "GET", url: "/api/govern/data-access/metadata/service-def" });
    expect(res.statusCode).toBe(200);
    expectShape("ServiceDefMetadataResponse", res.json());
    expect(res.json().resources[1]).toEqual({
      name: "schema",
      recursiveSupported: false,
      excludesSupported: true,
      mandatory: true,
      lookupSupported: true,
      parent: "catalog",
      level: 20,
    });
    expect(res.json().accessTypes).toContain("select");
    expect(res.json().maskTypes.map((m: { name: string }) => m.name)).toContain("MASK_HASH");
  });

  it.each(["users", "groups", "roles"])("lists %s names for dropdowns", async (kind) => {
    const res = await t.request({ method: "GET", url: `/api/govern/data-access/metadata/${kind}` });
    expect(res.statusCode).toBe(200);
    expectShape("NameListResponse", res.json());
  });
});

describe(`Nx1 groups (${TEST_BACKEND})`, () => {
  const GROUPS = "/api/govern/data-access/metadata/groups";

  it("creates the named groups, leaves existing ones, and lists them", async () => {
    const a = uniqueName("grp");
    const b = uniqueName("grp");
    const first = await t.request({ method: "POST", url: GROUPS, payload: { items: [a] } });
    expect(first.statusCode).toBe(200);
    expectShape("NameListResponse", first.json());
    const second = await t.request({ method: "POST", url: GROUPS, payload: { items: [a.toUpperCase(), b] } });
    expect(second.json()).toEqual({ items: [a, b] });
    const list = await t.request({ method: "GET", url: GROUPS });
    expect(list.json().items).toEqual(expect.arrayContaining([a, b]));
  });

  it("answers 400 naming an invalid name and creates nothing", async () => {
    const ok = uniqueName("grp");
    const res = await t.request({ method: "POST", url: GROUPS, payload: { items: [ok, "sales/eu"] } });
    expectError(res, 400, "sales/eu");
    expect(res.json().error).toContain("body.items[1]");
    const list = await t.request({ method: "GET", url: GROUPS });
    expect(list.json().items).not.toContain(ok);
  });

  it("answers 422 naming the limit for more than 1000 names, and creates nothing", async () => {
    const prefix = uniqueName("many");
    const items = Array.from({ length: 1001 }, (_, i) => `${prefix}_${i}`);
    const res = await t.request({ method: "POST", url: GROUPS, payload: { items } });
    expect(res.statusCode).toBe(422);
    expectShape("HTTPValidationError", res.json());
    expect(res.json().detail).toEqual([
      expect.objectContaining({
        loc: ["body", "items"],
        type: "too_long",
        msg: expect.stringContaining("body.items: must NOT have more than 1000 items"),
      }),
    ]);
    const list = await t.request({ method: "GET", url: GROUPS });
    expect(list.json().items).not.toContain(items[0]);
  });

  it("answers 422 HTTPValidationError for a malformed body", async () => {
    for (const payload of [{ items: [{ name: "x" }] }, { items: { a: 1 } }, { items: "analysts" }]) {
      const res = await t.request({ method: "POST", url: GROUPS, payload });
      expect(res.statusCode).toBe(422);
      expectShape("HTTPValidationError", res.json());
      expect(res.json().detail[0].loc.slice(0, 2)).toEqual(["body", "items"]);
    }
    const broken = await t.request({
      method: "POST",
      url: GROUPS,
      payload: "{",
      headers: { "content-type": "application/json" },
    });
    expect(broken.statusCode).toBe(422);
    expectShape("HTTPValidationError", broken.json());
  });
});

describe(`Nx1 bulk (${TEST_BACKEND})`, () => {
  it("applies JSON rows independently, one line per derived policy, failures naming row and field", async () => {
    const base = uniqueName("bulk");
    const rows = [
      {
        name: `${base}-a`,
        catalog: "hive",
        schemas: ["s1", "s2"].map((s) => `${base}_${s}`),
        groups: "analysts",
        accesses: "select, show",
      },
      { name: `${base}-b`, catalog: "hive", schemas: "s3", tables: "orders", users: ["bob"], accesses: ["fly"] },
      { name: `${base}-c`, schemas: "s4", users: "carol" },
      {
        name: `${base}-m`,
        catalog: "hive",
        schemas: uniqueName("s"),
        tables: "customers",
        columns: "ssn",
        groups: "analysts",
        policy_type: "masking",
        mask_type: "mask_hash",
      },
      {
        name: `${base}-r`,
        catalog: "hive",
        schemas: uniqueName("s"),
        tables: "orders",
        roles: "eu",
        policy_type: "row_filter",
        row_filter: "region = 'EU'",
      },
    ];
    const form = multipart([{ name: "rows", value: JSON.stringify(rows) }]);
    const res = await t.request({ method: "POST", url: `${POLICIES}/bulk`, ...form });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expectShape("BulkPolicyCreateResponse", body);
    expect(body).toMatchObject({ total: 6, created: 4, updated: 0, failed: 2 });
    expect(body.results.map((r: { row_index: number; name: string }) => [r.row_index, r.name])).toEqual([
      [0, `${base}-a_${base}_s1`],
      [0, `${base}-a_${base}_s2`],
      [1, `${base}-b`],
      [2, `${base}-c`],
      [3, `${base}-m`],
      [4, `${base}-r`],
    ]);
    expect(body.results[2].error).toContain("rows[1].policyItems[0].accesses[0].type");
    expect(body.results[3].error).toContain("rows[2].catalog");
    expect(body.results[0].policy_id).toEqual(expect.any(Number));

    const again = await t.request({
      method: "POST",
      url: `${POLICIES}/bulk`,
      ...multipart([
        { name: "rows", value: JSON.stringify([{ ...rows[0], overwrite: true, description: "v2" }, rows[0]]) },
      ]),
    });
    expect(again.json()).toMatchObject({ total: 4, created: 0, updated: 2, failed: 2 });
    expect(again.json().results[2].error).toContain("set overwrite=true");
  });

  it("imports a real .xlsx workbook streamed as a file, and previews it with bulk/parse", async () => {
    const base = uniqueName("xl");
    const file = await workbook([
      ["Name", "Catalog", "Schemas", "Tables", "Groups", "Accesses", "Policy Type", "Enabled"],
      [base, "hive", uniqueName("s"), "orders, items", "analysts", "select", "access", "yes"],
      [`${base}-bad`, "hive", uniqueName("s"), "orders", "", "select", "access", true],
      [],
      [`${base}-deny`, "hive", uniqueName("s"), "", "interns", "select", "access", 0],
    ]);
    const form = multipart([{ name: "excel_file", value: file, filename: "policies.xlsx", type: XLSX }]);
    const res = await t.request({ method: "POST", url: `${POLICIES}/bulk`, ...form });
    expect(res.statusCode).toBe(200);
    expectShape("BulkPolicyCreateResponse", res.json());
    expect(res.json()).toMatchObject({ total: 3, created: 2, failed: 1 });
    expect(res.json().results[1]).toMatchObject({ row_index: 1, policy_id: null });
    expect(res.json().results[1].error).toContain("rows[1].users");

    const parsed = await t.request({ method: "POST", url: `${POLICIES}/bulk/parse`, ...form });
    expect(parsed.statusCode).toBe(200);
    expectShape("BulkPolicyParsePreviewResponse", parsed.json());
    expect(parsed.json().rows).toHaveLength(3);
    expect(parsed.json().rows[0]).toMatchObject({
      name: base,
      catalog: "hive",
      tables: "orders, items",
      enabled: "yes",
    });
    expect(parsed.json().rows[1].enabled).toBe(true);
  });

  it("applies nothing when atomic and a row fails", async () => {
    const base = uniqueName("atom");
    const rows = [
      { name: `${base}-ok`, catalog: "hive", schemas: uniqueName("s"), users: "u" },
      { name: `${base}-bad`, catalog: "hive", schemas: uniqueName("s"), users: "u", accesses: "fly" },
    ];
    const res = await t.request({
      method: "POST",
      url: `${POLICIES}/bulk?atomic=true`,
      ...multipart([{ name: "rows", value: JSON.stringify(rows) }]),
    });
    expect(res.json()).toMatchObject({ total: 2, created: 0, failed: 2 });
    expect(res.json().results[0].error).toContain("atomic");
    const list = await t.request({ method: "GET", url: `${POLICIES}?name=${base}` });
    expect(list.json().total).toBe(0);
  });

  it("answers 400 for neither field, unreadable workbooks and malformed rows", async () => {
    expectError(
      await t.request({ method: "POST", url: `${POLICIES}/bulk`, ...multipart([{ name: "other", value: "x" }]) }),
      400,
      "rows",
    );
    expectError(
      await t.request({
        method: "POST",
        url: `${POLICIES}/bulk`,
        ...multipart([{ name: "excel_file", value: Buffer.from("not a zip"), filename: "x.xlsx", type: XLSX }]),
      }),
      400,
      "excel_file",
    );
    expectError(
      await t.request({ method: "POST", url: `${POLICIES}/bulk`, ...multipart([{ name: "rows", value: "[{" }]) }),
      400,
      "rows",
    );
    expectError(await t.request({ method: "POST", url: `${POLICIES}/bulk`, payload: { rows: [] } }), 400, "multipart");
  });

  it("serves a template workbook that bulk/parse reads back", async () => {
    const res = await t.request({ method: "GET", url: `${POLICIES}/bulk/template` });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe(XLSX);
    const parsed = await t.request({
      method: "POST",
      url: `${POLICIES}/bulk/parse`,
      ...multipart([{ name: "excel_file", value: res.rawPayload, filename: "t.xlsx", type: XLSX }]),
    });
    expect(parsed.json().rows[0]).toMatchObject({ name: "analysts-read-sales", policy_type: "access" });
  });
});

describe(`Nx1 tag-role associations (${TEST_BACKEND})`, () => {
  it("backs each tag's associations with one tag-based policy, one item per role", async () => {
    const tag = uniqueName("PII");
    const policyOf = async () =>
      (
        await t.request({
          method: "GET",
          url: `/v1/services/tags/policies?policyName=${encodeURIComponent(`nx1-tag:${tag}`)}`,
        })
      ).json().items[0];

    const ro = await t.request({
      method: "POST",
      url: `/api/metastore/tags/${tag}/roles/nx1_engineer/associate?readonly=true`,
    });
    expect(ro.statusCode).toBe(200);
    expect(ro.json()).toEqual({ tag, role: "nx1_engineer", is_readonly: true, id: expect.any(String) });
    const rw = await t.request({
      method: "POST",
      url: `/api/metastore/tags/${tag}/roles/nx1_ask/associate?readonly=false`,
    });
    expect(rw.json().is_readonly).toBe(false);

    const policy = await policyOf();
    expect(policy.resources).toEqual({ tag: { values: [tag], isExcludes: false, isRecursive: false } });
    const items = Object.fromEntries(
      policy.policyItems.map((i: { roles: string[]; accesses: { type: string }[] }) => [
        i.roles[0],
        i.accesses.map((a) => a.type),
      ]),
    );
    expect(items.nx1_engineer).toEqual(["trino:select"]);
    expect(items.nx1_ask).toEqual(expect.arrayContaining(["trino:select", "trino:insert", "trino:delete"]));

    const list = await t.request({ method: "GET", url: `/api/metastore/tags/${tag}/roles` });
    expect(list.json().map((a: { role: string }) => a.role)).toEqual(["nx1_ask", "nx1_engineer"]);

    expect((await t.request({ method: "DELETE", url: `/api/metastore/tags/${tag}/roles/nx1_ask` })).statusCode).toBe(
      204,
    );
    expect((await policyOf()).policyItems).toHaveLength(1);
    expect(
      (await t.request({ method: "DELETE", url: `/api/metastore/tags/${tag}/roles/nx1_engineer` })).statusCode,
    ).toBe(204);
    expect(await policyOf()).toBeUndefined();
    expectError(await t.request({ method: "DELETE", url: `/api/metastore/tags/${tag}/roles/nx1_engineer` }), 404);
  });

  it("answers 422 HTTPValidationError without readonly", async () => {
    const res = await t.request({ method: "POST", url: "/api/metastore/tags/PII/roles/r/associate" });
    expect(res.statusCode).toBe(422);
    expectShape("HTTPValidationError", res.json());
    expect(res.json().detail[0].loc).toEqual(["query", "readonly"]);
  });
});

describe("Nx1 OpenAPI", () => {
  it("documents the seed operations with their error shapes and both security schemes", async () => {
    const doc = (await t.request({ method: "GET", url: "/openapi.json" })).json();
    const create = doc.paths["/api/govern/data-access/policies"].post;
    expect(create.operationId).toBe("create_policy_api_govern_data_access_policies_post");
    expect(Object.keys(create.responses).sort()).toEqual(["200", "201", "400", "409", "422", "503"]);
    expect(create.security).toEqual([{ bearer: [] }, { APIKeyHeader: [] }]);
    const list = doc.paths["/api/govern/data-access/policies"].get;
    expect(list.description).toContain("Gatehouse extension");
  });
});
