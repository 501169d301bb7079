// Regenerates the documents derived from code: docs/config.md and docs/errors.md.
import { writeFileSync } from "node:fs";
import { renderConfigDoc } from "../src/config/docs.ts";
import { renderErrorsDoc } from "../src/errors-doc.ts";

writeFileSync(new URL("../docs/config.md", import.meta.url), renderConfigDoc());
writeFileSync(new URL("../docs/errors.md", import.meta.url), renderErrorsDoc());
process.stdout.write("wrote docs/config.md and docs/errors.md\n");
