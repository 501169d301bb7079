import { allErrors, RETIRED_CODES } from "./errors.ts";

/** Renders docs/errors.md from the catalogue, so the reference lists exactly the codes the API returns. */
export function renderErrorsDoc(): string {
  const rows = allErrors().map((e) => `| \`${e.code}\` | ${e.status} | ${e.description} |`);
  return [
    "# Error codes",
    "",
    "<!-- generated from src/errors.ts by `npm run docs`; do not edit by hand -->",
    "",
    "Native routes answer every error with one body:",
    "",
    "```json",
    '{"code": "GROUP_NAME_TAKEN", "message": "body.name: group `sales` exists", "details": [{"field": "body.name", "rule": "unique", "message": "..."}], "meta": {"existingId": "..."}, "requestId": "..."}',
    "```",
    "",
    "`code` is stable: it is never renumbered or reused. `message` names the field and the rule; `details` lists each",
    "failing field. Errors with status 500 or more carry a generic message; the detail goes only to the server log,",
    "under the same `requestId`. Routes that reproduce another product's API (Nx1, Frontier, Puppet RBAC, VMware Aria)",
    "answer in that product's documented error shape instead.",
    "",
    "An unknown body field or query parameter is a `VALIDATION_FAILED` naming it (`rule: additionalProperties`),",
    "never silently ignored: a misspelt filter would otherwise return everything. The Ranger plugin routes under",
    "`/service/` accept unknown query parameters, because Ranger plugins of different versions send different ones.",
    "",
    "Fields are written in one notation, `body.policyItems[0].groups[1]`. A failed enum lists the allowed values",
    "(``must be one of `access`, `datamask` ``), long user values are cut, and a message lists at most 20 fields",
    "(`; and N more`). Input no route may take (NUL characters, lone surrogates, invalid UTF-8 bytes, nesting deeper",
    "than 32 levels) is a `VALIDATION_FAILED` with the rule `noNulCharacter`, `wellFormedUnicode`, `validUtf8` or",
    "`maxDepth`; see [input-rules.md](input-rules.md).",
    "",
    "| code | status | meaning |",
    "|---|---|---|",
    ...rows,
    "",
    `Retired codes (never reused): ${RETIRED_CODES.length > 0 ? RETIRED_CODES.map((c) => `\`${c}\``).join(", ") : "none yet"}.`,
    "",
  ].join("\n");
}
