import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Static, Type } from "typebox";
import type { RangerAccessRequest, RangerAccessResult } from "../engine/index.ts";
import { type WorkBudget, WorkBudgetExceeded, workBudget } from "../engine/index.ts";
import { AppError, ValidationFailed } from "../errors.ts";
import {
  budgetExceeded,
  checkRequestNames,
  type DecisionInput,
  type DecisionOutput,
  evaluate,
  itemError,
  present,
  principalsCached,
  principalsFor,
  recordOf,
  toEngineRequest,
} from "./decide.ts";
import { BatchRequest, BatchResponse, Decision, DecisionRequest } from "./decisions.schemas.ts";
import { explainDecision } from "./explain.ts";
import type { LiveEngine } from "./live-engines.ts";
import type { DecisionRuntime } from "./runtime.ts";

/** What a decision keeps of the HTTP request: its id and client address (for the decision log). */
export interface RequestContext {
  id: string;
  ip: string;
}

/**
 * The decision functions both entries use: the Fastify routes below and the fast lane
 * (fast-lane.ts), so a decision is made by one piece of code whichever way it arrives.
 */
export function createDecider(runtime: DecisionRuntime) {
  const engineOf = async (service: string): Promise<LiveEngine> =>
    runtime.engines.peek(service) ?? (await runtime.engines.get(service));

  /**
   * Decides from cached state only; undefined when the engine or the user is not cached. The
   * parsed body (or batch item) is read in place and `service` passed beside it: a copy per
   * decision only to add two fields cost more than the rest of this function.
   */
  const decideCached = (
    input: DecisionInput,
    service: string,
    request: RequestContext,
    field: string,
    count = true,
    budget?: WorkBudget,
  ): DecisionOutput | undefined => {
    const live = runtime.engines.peek(service);
    if (!live) return undefined;
    checkRequestNames(live, input.resource, input.accessType, field);
    const principals = principalsCached(runtime.principals, input, field);
    if (!principals) return undefined;
    return finish(live, input, principals, request, field, count, budget);
  };

  /**
   * Evaluates, counts and queues the audit record of one decision whose engine and principals are
   * known, and answers the engine's result. `extra` sets engine request fields the native API does
   * not take (the Ranger PDP's resource owner, matching scope, client address from its context);
   * `onlyApplied` logs a row-filter or mask evaluation only when a policy applied (the PDP asks for
   * both beside every access decision, and an empty answer is not a decision of its own). The PDP,
   * which answers in Ranger's shape, takes this result as it is, without the API's `present`.
   */
  const evaluateCounted = (
    live: LiveEngine,
    input: DecisionInput,
    { groups, roles }: { groups: string[]; roles: string[] },
    request: RequestContext,
    field: string,
    count: boolean,
    budget: WorkBudget | undefined,
    opts?: { extra?: Partial<RangerAccessRequest>; onlyApplied?: boolean },
  ): RangerAccessResult => {
    const req = toEngineRequest(input, groups, roles, request.ip, runtime.workBudget, budget);
    if (opts?.extra !== undefined) Object.assign(req, opts.extra);
    const res = evaluate(live, input, req, field);
    if (count) runtime.countDecision(res.isAllowed);
    if (res.isAudited && (opts?.onlyApplied !== true || res.policyId >= 0)) {
      runtime.audit.push({
        ...recordOf(live, input, groups, roles, res),
        at: new Date(),
        requestId: request.id,
        clientIp: request.ip,
      });
    }
    return res;
  };

  /** `evaluateCounted`, answered in the decision API's shape. */
  const finish = (
    live: LiveEngine,
    input: DecisionInput,
    principals: { groups: string[]; roles: string[] },
    request: RequestContext,
    field: string,
    count: boolean,
    budget: WorkBudget | undefined,
    opts?: { extra?: Partial<RangerAccessRequest>; onlyApplied?: boolean },
  ): DecisionOutput => present(live, evaluateCounted(live, input, principals, request, field, count, budget, opts));

  /** Decides after loading the engine or the user's memberships (the first request for either). */
  const decideLoading = async (
    input: DecisionInput,
    service: string,
    request: RequestContext,
    field: string,
    count = true,
    budget?: WorkBudget,
  ): Promise<DecisionOutput> => {
    const live = await engineOf(service);
    checkRequestNames(live, input.resource, input.accessType, field);
    const principals = await principalsFor(runtime.principals, input, field);
    return finish(live, input, principals, request, field, count, budget);
  };

  /**
   * One decision: synchronous when everything is cached (the handler then returns the value, and
   * Fastify sends it without a promise), a promise only when something must be loaded first.
   */
  const decideOne = (
    input: DecisionInput & { service: string },
    request: RequestContext,
  ): DecisionOutput | Promise<DecisionOutput> =>
    decideCached(input, input.service, request, "body") ?? decideLoading(input, input.service, request, "body");

  /**
   * A batch, in request order, under one work budget (items cannot multiply it;
   * docs/decisions.md). Synchronous while every engine and user is cached; from the first item
   * that needs loading on, the rest is decided in a promise. An item that cannot be decided gets
   * its own `error`; an error of the server (5xx) fails the whole batch.
   */
  const decideBatch = (body: BatchInput, request: RequestContext): BatchOutput | Promise<BatchOutput> => {
    const { service, requests } = body;
    const answer: BatchOutput = { results: new Array(requests.length), allowed: 0, denied: 0, failed: 0 };
    const budget = workBudget(runtime.workBudget);
    const settle = (i: number, out: DecisionOutput) => {
      answer.results[i] = out;
      if (out.allowed) answer.allowed++;
      else answer.denied++;
    };
    const fail = (i: number, err: unknown) => {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      answer.results[i] = { error: itemError(err) };
      answer.failed++;
    };
    const done = () => {
      runtime.countDecision(true, answer.allowed);
      runtime.countDecision(false, answer.denied);
      return answer;
    };
    const loadFrom = async (first: number): Promise<BatchOutput> => {
      for (let i = first; i < requests.length; i++) {
        const item = requests[i] as BatchItem;
        const field = batchItemField(i);
        try {
          const itemService = item.service ?? service;
          if (!itemService) throw missingService(field);
          settle(
            i,
            decideCached(item, itemService, request, field, false, budget) ??
              (await decideLoading(item, itemService, request, field, false, budget)),
          );
        } catch (err) {
          fail(i, err);
        }
      }
      return done();
    };
    for (let i = 0; i < requests.length; i++) {
      const item = requests[i] as BatchItem;
      const field = batchItemField(i);
      try {
        const itemService = item.service ?? service;
        if (!itemService) throw missingService(field);
        const out = decideCached(item, itemService, request, field, false, budget);
        if (out === undefined) return loadFrom(i);
        settle(i, out);
      } catch (err) {
        fail(i, err);
      }
    }
    return done();
  };

  return { engineOf, decideCached, decideLoading, decideOne, decideBatch, evaluateCounted };
}

/** A batch request's body and one of its items, as the route's schema gives them. */
export type BatchInput = Static<typeof BatchRequest>;
type BatchItem = BatchInput["requests"][number];
/** A batch's answer: each item's decision or error, and the counts. */
export type BatchOutput = {
  results: (DecisionOutput | { error: { code: string; message: string } })[];
  allowed: number;
  denied: number;
  failed: number;
};

/**
 * Decision routes: one decision, a batch, and an explained decision. The hot path awaits only
 * when a service's engine or a user's memberships are not cached yet; audited decisions are
 * queued for the decision log, never written on the request path.
 */
export function decisionRoutes(runtime: DecisionRuntime): FastifyPluginAsyncTypebox {
  const { engineOf, decideOne, decideBatch } = createDecider(runtime);
  return async (app) => {
    app.post(
      "/v1/decisions",
      {
        config: { ability: "decision.check" },
        schema: {
          tags: ["decisions"],
          summary: "Decide one access request",
          description:
            "Evaluates the service's policies for the user (groups and roles from the directory unless given). " +
            "With `policyType` `datamask` or `rowfilter`, answers the mask or row filter.",
          body: DecisionRequest,
          response: { 200: Decision },
        },
      },
      // Not async: a cached decision is returned as a value (see decideOne).
      (request) => decideOne(request.body, request),
    );

    app.post(
      "/v1/decisions::batch",
      {
        config: { ability: "decision.check" },
        // 10,000 requests with long resource names exceed the server-wide body limit.
        bodyLimit: BATCH_BODY_LIMIT,
        schema: {
          tags: ["decisions"],
          summary: "Decide up to 10,000 access requests",
          description:
            "Answers in request order. An item that cannot be decided (unknown service, user or resource key) " +
            "gets its own `error`; the others are decided.",
          body: BatchRequest,
          response: { 200: BatchResponse },
        },
      },
      // Not async: a batch whose engines and users are cached is returned as a value (see decideBatch).
      (request) => decideBatch(request.body, request),
    );

    app.post(
      "/v1/decisions::explain",
      {
        config: { ability: "decision.check" },
        schema: {
          tags: ["decisions"],
          summary: "Decide one access request and explain it",
          description:
            "The decision plus the engine's explanation: which policies matched the resource, what each says " +
            "for this user, its groups and roles, and which one decided.",
          body: DecisionRequest,
          response: {
            200: Type.Object({ decision: Decision, explanation: Type.Unknown() }, { title: "ExplainedDecision" }),
          },
        },
      },
      async (request) => {
        const input = request.body;
        const live = await engineOf(input.service);
        checkRequestNames(live, input.resource, input.accessType, "body");
        const { groups, roles } = await principalsFor(runtime.principals, input, "body");
        const req = toEngineRequest(input, groups, roles, request.ip, runtime.workBudget);
        const decision = present(live, evaluate(live, input, req));
        // the explanation matches again: with what is left of the decision's budget
        return { decision, explanation: explainWithin(live, input, req, groups, roles, decision) };
      },
    );
  };
}

/** explainDecision, with the engine's WorkBudgetExceeded as DECISION_BUDGET_EXCEEDED. */
function explainWithin(...args: Parameters<typeof explainDecision>): ReturnType<typeof explainDecision> {
  try {
    return explainDecision(...args);
  } catch (err) {
    throw err instanceof WorkBudgetExceeded ? budgetExceeded(err) : err;
  }
}

/** `body.requests[i]` for every item index seen so far: built once, not once per decided item. */
const batchItemFields: string[] = [];

/** The field name of batch item `i`, for its error messages. */
function batchItemField(i: number): string {
  let field = batchItemFields[i];
  if (field === undefined) {
    field = `body.requests[${i}]`;
    batchItemFields[i] = field;
  }
  return field;
}

/** Bytes a batch body may have: 10,000 requests of up to about 3 kB each. */
export const BATCH_BODY_LIMIT = 32 * 1024 * 1024;

function missingService(field: string): AppError {
  const message = `${field}.service: is required when the batch has no \`service\``;
  return ValidationFailed(message, {
    details: [{ field: `${field}.service`, rule: "required", message }],
  });
}
