import { readFileSync } from "node:fs";
import type { RangerServiceDef } from "../engine/types.ts";

function load(name: string): RangerServiceDef {
  return JSON.parse(readFileSync(new URL(`./${name}.json`, import.meta.url), "utf8")) as RangerServiceDef;
}

/**
 * The service-defs Gatehouse ships, in Ranger's JSON format (written from ranger-semantics §1.4 and
 * compared with Ranger's own files in a test). They are upserted at every start, so a release can
 * correct them without a migration; custom defs are added with `POST /v1/service-defs`.
 */
export const BUILTIN_SERVICE_DEFS: readonly RangerServiceDef[] = [load("trino"), load("hive"), load("hdfs")];
