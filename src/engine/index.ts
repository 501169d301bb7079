/**
 * Public surface of the Gatehouse policy decision engine (`gatehouse/engine`).
 * The engine is pure: it takes Ranger-format data in and answers decisions synchronously.
 */
export type * from "./types.ts";
export {
  CHANGE_TYPE_POLICY_CREATE,
  CHANGE_TYPE_POLICY_DELETE,
  CHANGE_TYPE_POLICY_UPDATE,
  POLICY_TYPE_ACCESS,
  POLICY_TYPE_DATAMASK,
  POLICY_TYPE_ROWFILTER,
} from "./types.ts";
