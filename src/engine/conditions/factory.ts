import type { CompiledExpression, ExpressionEnv } from "../expression/index.ts";
import { compileExpression, evaluateCondition } from "../expression/index.ts";
import { wildcardMatch } from "../match/wildcard.ts";
import type { RequestState } from "../policy/request-state.ts";
import type { RangerPolicyConditionDef, RangerPolicyItemCondition, RangerServiceDef } from "../types.ts";
import type { Condition } from "./condition.ts";

/**
 * Builds condition evaluators from a service-def's `policyConditions`, keyed by the Java class
 * Ranger names in `evaluator`. Script conditions go through the safe expression language
 * (never eval). Unknown condition types are ignored, as Ranger does.
 */
export interface ConditionServices {
  /** Builds (and caches per request) the expression view of a request. */
  expressionEnv(state: RequestState): ExpressionEnv;
}

type Builder = (
  def: RangerPolicyConditionDef,
  values: readonly string[],
  services: ConditionServices,
) => Condition | null;

const builders: Record<string, Builder> = {
  RangerScriptConditionEvaluator: (def, values, services) => scriptCondition(def.name, values.join(" "), services),
  RangerScriptTemplateConditionEvaluator: (def, values, services) => {
    const enabled = values.some((v) => /^(yes|true)$/i.test(v.trim()));
    if (!enabled) return null;
    const template = def.evaluatorOptions?.scriptTemplate ?? "";
    const reverse = /^true$/i.test(def.evaluatorOptions?.reverseResult ?? "");
    const inner = scriptCondition(def.name, template, services);
    if (!reverse) return inner;
    return { type: def.name, isMatched: (s) => !inner.isMatched(s) };
  },
  RangerIpMatcher: (def, values) => ipMatcher(def.name, values),
  RangerSimpleMatcher: (def, values) => {
    const name = def.evaluatorOptions?.CONTEXT_NAME ?? "";
    return {
      type: def.name,
      isMatched: (s) => {
        if (values.length === 0) return true;
        const v = s.context[name];
        if (v === undefined || v === null) return false;
        const str = String(v);
        return values.some((p) => wildcardMatch(str, p));
      },
    };
  },
  RangerHiveResourcesAccessedTogetherCondition: (def, values) => accessedTogether(def.name, values, true),
  RangerHiveResourcesNotAccessedTogetherCondition: (def, values) => accessedTogether(def.name, values, false),
  RangerTagsAllPresentConditionEvaluator: (def, values) => tagPresence(def.name, values, "all"),
  RangerAnyOfExpectedTagsPresentConditionEvaluator: (def, values) => tagPresence(def.name, values, "any"),
  RangerNoneOfExpectedTagsPresentConditionEvaluator: (def, values) => tagPresence(def.name, values, "none"),
  RangerContextAttributeValueInCondition: (def, values) => {
    const attr = def.evaluatorOptions?.attributeName ?? "";
    return { type: def.name, isMatched: (s) => values.length === 0 || values.includes(String(s.context[attr] ?? "")) };
  },
  RangerContextAttributeValueNotInCondition: (def, values) => {
    const attr = def.evaluatorOptions?.attributeName ?? "";
    return { type: def.name, isMatched: (s) => !values.includes(String(s.context[attr] ?? "")) };
  },
};

function scriptCondition(type: string, source: string, services: ConditionServices): Condition {
  let compiled: CompiledExpression | null = null;
  try {
    compiled = compileExpression(source);
  } catch {
    compiled = null;
  }
  return {
    type,
    isMatched: (s) => {
      if (!compiled) return false;
      try {
        return evaluateCondition(compiled, services.expressionEnv(s));
      } catch {
        return false;
      }
    },
  };
}

/** `RangerIpMatcher`: `*` matches all; otherwise the text before the first `*` must prefix the client IP. */
function ipMatcher(type: string, values: readonly string[]): Condition {
  const all = values.length === 0 || values.some((v) => v.trim() === "*");
  const prefixes = values.map((v) => {
    const t = v.trim();
    const i = t.indexOf("*");
    return i < 0 ? { exact: t, prefix: null } : { exact: null, prefix: t.slice(0, i) };
  });
  return {
    type,
    isMatched: (s) => {
      if (all) return true;
      const ip = s.request.clientIPAddress;
      if (!ip) return false;
      return prefixes.some((p) => (p.exact !== null ? p.exact === ip : ip.startsWith(p.prefix!)));
    },
  };
}

function tagPresence(type: string, values: readonly string[], mode: "all" | "any" | "none"): Condition {
  return {
    type,
    isMatched: (s) => {
      const names = new Set((s.tags ?? []).map((t) => t.type));
      if (mode === "all") return values.length === 0 || values.every((v) => names.has(v));
      if (mode === "any") return values.length === 0 || values.some((v) => names.has(v));
      return !values.some((v) => names.has(v));
    },
  };
}

/**
 * Hive's mutex conditions (`RangerHiveResourcesAccessedTogetherCondition` and its negation): the
 * query's REQUESTED_RESOURCES are "accessed together" when, over all (requested resource, listed
 * pattern) pairs, at least two match (Ranger's `RangerRequestedResources#isMutuallyExcluded`), so a
 * single pattern such as `db.t.col*` matched by two requested columns counts.
 */
function accessedTogether(type: string, values: readonly string[], together: boolean): Condition {
  const patterns = values.map((v) => v.toLowerCase());
  return {
    type,
    isMatched: (s) => {
      if (patterns.length === 0) return true;
      const requested = requestedResourceNames(s.context.REQUESTED_RESOURCES);
      if (requested === null) return !together;
      let matched = 0;
      let accessedTogether = false;
      if (requested.length > 1)
        outer: for (const r of requested)
          for (const p of patterns)
            if (wildcardMatch(r, p) && matched++ > 0) {
              accessedTogether = true;
              break outer;
            }
      return together ? accessedTogether : !accessedTogether;
    },
  };
}

function requestedResourceNames(raw: unknown): string[] | null {
  if (raw === undefined || raw === null) return null;
  let data: unknown = raw;
  if (typeof raw === "string") {
    try {
      data = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  const list = (data as { requestedResources?: { elements?: Record<string, unknown> }[] }).requestedResources;
  if (!Array.isArray(list)) return null;
  return list.map((r) =>
    Object.values(r.elements ?? {})
      .map((v) => String(v))
      .join(".")
      .toLowerCase(),
  );
}

/** Returns the factory the policy compiler uses for one service-def. */
export function conditionFactory(
  serviceDef: RangerServiceDef,
  services: ConditionServices,
): (cond: RangerPolicyItemCondition) => Condition | null {
  const defs = new Map((serviceDef.policyConditions ?? []).map((d) => [d.name, d]));
  return (cond) => {
    let def = defs.get(cond.type);
    if (!def && (cond.type === "_expression" || cond.type === "expression")) {
      def = { name: cond.type, evaluator: "RangerScriptConditionEvaluator" };
    }
    if (!def) return null;
    const cls = (def.evaluator ?? "").split(".").pop() ?? "";
    const build = builders[cls];
    if (!build) return null;
    return build(
      def,
      (cond.values ?? []).filter((v) => v !== null && v !== undefined),
      services,
    );
  };
}
