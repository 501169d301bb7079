import type { RangerTagForEval } from "../types.ts";

/**
 * What an expression can see: one access request, shaped like the data Ranger's
 * `RangerRequestScriptEvaluator` exposes to scripts. Plain data only; nothing in it is
 * ever called. Build one per request and reuse it for every condition of that request
 * (derived views such as `USER` or `TAGS` are computed lazily and cached per env object).
 */
export interface ExpressionEnv {
  /** Request user (`REQ.user`, `USER._name`, `ctx.getUser()`). */
  user?: string;
  /** Request groups (`UGNAMES`, sorted on use like Ranger). */
  userGroups?: readonly string[];
  /** Request roles, already resolved (`URNAMES`, `IS_IN_ROLE`). */
  userRoles?: readonly string[];
  /** Attributes of the request user (RangerUserStore `userAttrMapping[user]`): `USER.x`. */
  userAttributes?: Readonly<Record<string, string>>;
  /** Attributes per group (RangerUserStore `groupAttrMapping`): `UG[group].x`, `UGA`. */
  groupAttributes?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Access type as requested ("" for `_any`). */
  accessType?: string;
  action?: string;
  /** Epoch milliseconds; absent ⇒ the evaluation options' `now()`. */
  accessTime?: number;
  clientIPAddress?: string;
  remoteIPAddress?: string;
  forwardedAddresses?: readonly string[];
  clientType?: string;
  clusterName?: string;
  clusterType?: string;
  requestData?: string;
  sessionId?: string;
  /** Requested resource elements (`RES.database`, ...). */
  resource?: Readonly<Record<string, unknown>>;
  /** Resource owner (`RES._ownerUser`). */
  resourceOwner?: string;
  resourceMatchingScope?: string;
  /** Request context attributes (`ctx.getRequestContextAttribute(name)`), e.g. geo enricher output. */
  context?: Readonly<Record<string, unknown>>;
  /** All tags of the requested resource (`TAGS`, `TAGNAMES`, `HAS_TAG`). */
  tags?: readonly RangerTagForEval[];
  /** The tag whose tag-based policy is being evaluated (`TAG`, `tag`, `tagAttr`). */
  currentTag?: RangerTagForEval;
  /** `ctx.isAccessTypeAny()`; default: accessType is "" or `_any`. */
  isAccessTypeAny?: boolean;
  /** `ctx.isAccessTypeDelegatedAdmin()`; default: accessType is `_admin`. */
  isAccessTypeDelegatedAdmin?: boolean;
  /** `ctx.getResourceZone()`. */
  resourceZone?: string;
}

/** Evaluation knobs; all optional. Pass the same object for every call (it is read, never copied). */
export interface EvaluateOptions {
  /** Upper bound on evaluation work (node visits plus per-element work of methods); default 100,000. */
  maxSteps?: number;
  /** Largest string or array an expression may build; default 1,000,000 (characters or elements). */
  maxValueSize?: number;
  /**
   * Extra tag-attribute date formats for `ctx.isAccessedBefore/After` (Ranger's
   * `ranger.plugin.tag.attr.additional.date.formats`, SimpleDateFormat syntax).
   */
  tagDateFormats?: readonly string[];
  /** Zone that stands for Ranger's JVM default zone (IS_ACCESS_TIME_* parsing); default "UTC". */
  defaultTimeZone?: string;
  /** Clock used when the env has no accessTime; default Date.now. */
  now?: () => number;
}

/** Where a construct was found: 0-based offset into the source given to the compiler. */
export interface ExpressionIssue {
  message: string;
  position: number;
}

/** Result of {@link validateExpression}: errors reject the text; warnings (e.g. unknown variables) do not. */
export interface ExpressionValidation {
  errors: ExpressionIssue[];
  warnings: ExpressionIssue[];
}

/** A script compiled once into closures; evaluate it any number of times. */
export interface CompiledExpression {
  /** The text as written in the policy. */
  readonly source: string;
  /** Non-fatal findings (unknown variables evaluate to a ReferenceError, as in Ranger). */
  readonly warnings: readonly ExpressionIssue[];
  /** Script variables it reads (USER, TAG, ctx, ...), for callers that precompute. */
  readonly variables: ReadonlySet<string>;
  /** @internal the closure tree */
  readonly run: (scope: unknown) => unknown;
}

/** A string with `${{expr}}` parts (RangerRequestExprResolver), compiled once. */
export interface CompiledTemplate {
  readonly source: string;
  /** False when the string has no `${{...}}`: resolving returns it unchanged. */
  readonly hasExpressions: boolean;
  /** @internal literal text and compiled expressions, alternating */
  readonly parts: readonly (string | CompiledExpression)[];
}
