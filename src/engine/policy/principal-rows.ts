import type { PolicyEvaluator } from "./policy-evaluator.ts";

/**
 * Per candidate list, the principal pre-filter of each evaluator packed side by side: three int32
 * per evaluator (mask low word, mask high word, flags). The evaluation loop reads these to pass over
 * a policy none of whose items can apply to the request, without reading the evaluator itself: on a
 * large engine every evaluator is a cold object, and a schema's `_any` list has hundreds of them.
 *
 * Keyed by the list (a candidate list is never changed once made; index changes make new lists), so
 * a cached list's rows are built once; lists shorter than `MIN_ROWS` are not worth a table.
 */
export const ROW_SKIPPABLE = 1;
export const ROW_AUDITED = 2;
const MIN_ROWS = 8;

const rowsByList = new WeakMap<readonly PolicyEvaluator[], Int32Array>();

/** The packed rows of a candidate list, or null for a short list. */
export function principalRows(evaluators: readonly PolicyEvaluator[]): Int32Array | null {
  if (evaluators.length < MIN_ROWS) return null;
  let rows = rowsByList.get(evaluators);
  if (rows === undefined) {
    rows = new Int32Array(evaluators.length * 3);
    for (let i = 0; i < evaluators.length; i++) {
      const ev = evaluators[i];
      rows[3 * i] = ev.maskLo;
      rows[3 * i + 1] = ev.maskHi;
      // skippable: the mask alone can rule the policy out, and no schedule can skip it first
      rows[3 * i + 2] = (ev.maskable && !ev.hasSchedule ? ROW_SKIPPABLE : 0) | (ev.isAuditEnabled ? ROW_AUDITED : 0);
    }
    rowsByList.set(evaluators, rows);
  }
  return rows;
}
