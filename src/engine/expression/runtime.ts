/**
 * Runtime of the expression language: the script scope built from an {@link ExpressionEnv}
 * (Ranger's `_ctx` JSON view and the `ctx`/`tag`/`tagAttr` host objects) and the allow-listed
 * methods. Nothing here ever calls a function found in data.
 */

import { getZone, utcFromFields, wallToInstant } from "../schedule/timezone.ts";
import type { RangerTagForEval } from "../types.ts";
import { ExpressionRuntimeError } from "./errors.ts";
import type { EvaluateOptions, ExpressionEnv } from "./types.ts";

const DEFAULT_MAX_STEPS = 100_000;
const DEFAULT_MAX_SIZE = 1_000_000;

type Data = Record<string, unknown>;

/** Property names never readable, whatever the receiver. */
export const FORBIDDEN_PROPERTIES = new Set([
  "__proto__",
  "constructor",
  "prototype",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  "caller",
  "callee",
  "arguments",
]);

const sorted = (values: readonly string[] | undefined): string[] => (values ? [...values].sort() : []);
const own = (o: object, k: string) => Object.hasOwn(o, k);

/** Ranger's `_ctx` JSON view of the request, built lazily and cached per env object. */
export class Derived {
  private readonly env: ExpressionEnv;
  private readonly accessTime: number;
  private groups?: string[];
  private roles?: string[];
  private user?: Data;
  private ug?: Record<string, Data>;
  private uga?: Data;
  private tagsView?: { tags: Record<string, Data>; tag: Data; tagNames: string[] };
  private req?: Data;

  constructor(env: ExpressionEnv, accessTime: number) {
    this.env = env;
    this.accessTime = accessTime;
  }

  get userGroups(): string[] {
    this.groups ??= sorted(this.env.userGroups);
    return this.groups;
  }
  get userRoles(): string[] {
    this.roles ??= sorted(this.env.userRoles);
    return this.roles;
  }
  get userAttrs(): Data {
    this.user ??= { ...this.env.userAttributes, _name: this.env.user ?? null };
    return this.user;
  }
  get groupAttrs(): Record<string, Data> {
    if (!this.ug) {
      const ug: Record<string, Data> = {};
      for (const g of this.userGroups) ug[g] = { ...this.env.groupAttributes?.[g], _name: g };
      this.ug = ug;
    }
    return this.ug;
  }
  /** UGA: first value per attribute over the user's groups (`sVal`) and all values (`mVal`). */
  get userGroupsAttributes(): Data {
    if (!this.uga) {
      const sVal: Data = {};
      const mVal: Record<string, unknown[]> = {};
      for (const g of this.userGroups) {
        const attrs = this.env.groupAttributes?.[g];
        if (!attrs) continue;
        for (const [k, v] of Object.entries(attrs)) {
          if (!own(sVal, k)) sVal[k] = v;
          if (!own(mVal, k)) mVal[k] = [];
          mVal[k].push(v);
        }
      }
      this.uga = { sVal, mVal };
    }
    return this.uga;
  }
  get tags() {
    if (!this.tagsView) {
      const list = this.env.tags ?? [];
      const tags: Record<string, Data> = {};
      for (const t of list) tags[t.type] = tagToMap(t);
      const current = this.env.currentTag;
      this.tagsView = {
        tags,
        tag: list.length > 0 && current ? tagToMap(current) : {},
        tagNames: Object.keys(tags).sort(),
      };
    }
    return this.tagsView;
  }
  get request(): Data {
    if (!this.req) {
      const e = this.env;
      this.req = {
        accessTime: this.accessTime,
        accessType: e.accessType ?? null,
        action: e.action ?? null,
        clientIPAddress: e.clientIPAddress ?? null,
        clientType: e.clientType ?? null,
        clusterName: e.clusterName ?? null,
        clusterType: e.clusterType ?? null,
        forwardedAddresses: e.forwardedAddresses ? [...e.forwardedAddresses] : null,
        remoteIPAddress: e.remoteIPAddress ?? null,
        requestData: e.requestData ?? null,
        resource: e.resource ? { ...e.resource, _ownerUser: e.resourceOwner ?? null } : null,
        resourceMatchingScope: e.resourceMatchingScope ?? null,
        user: e.user ?? null,
        userGroups: this.userGroups,
        userRoles: this.userRoles,
        userAttributes: this.userAttrs,
        userGroupAttributes: this.groupAttrs,
        uga: this.userGroupsAttributes,
      };
    }
    return this.req;
  }
}

function tagToMap(t: RangerTagForEval): Data {
  return { ...t.attributes, _type: t.type, _matchType: t.matchType ?? null };
}

/** One evaluation: env, budget, locals and `ctx.result`. */
export class Scope {
  readonly env: ExpressionEnv;
  readonly options: EvaluateOptions;
  readonly derived: Derived;
  readonly locals: Map<string, unknown> = new Map();
  readonly maxSteps: number;
  readonly maxSize: number;
  steps = 0;
  result = false;
  private ctxHost?: CtxHost;

  constructor(env: ExpressionEnv, options: EvaluateOptions, derived: Derived) {
    this.env = env;
    this.options = options;
    this.derived = derived;
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxSize = options.maxValueSize ?? DEFAULT_MAX_SIZE;
  }

  get accessTime(): number {
    return (this.derived.request.accessTime as number) ?? Date.now();
  }

  get ctx(): CtxHost {
    this.ctxHost ??= new CtxHost(this);
    return this.ctxHost;
  }

  /** Charges `n` units of work against the step budget. */
  charge(n: number): void {
    this.steps += n;
    if (this.steps > this.maxSteps) throw new ExpressionRuntimeError(`step limit of ${this.maxSteps} exceeded`);
  }

  /** Rejects strings and arrays beyond the size limit. */
  checkSize<T>(v: T): T {
    if ((typeof v === "string" || Array.isArray(v)) && v.length > this.maxSize) {
      throw new ExpressionRuntimeError(`value larger than ${this.maxSize} exceeded the size limit`);
    }
    return v;
  }
}

const derivedCache = new WeakMap<ExpressionEnv, Map<number, Derived>>();

/** The cached derived view for (env, access time). */
export function derivedFor(env: ExpressionEnv, options: EvaluateOptions): Derived {
  const accessTime = env.accessTime ?? (options.now ?? Date.now)();
  let byTime = derivedCache.get(env);
  if (!byTime) {
    byTime = new Map();
    derivedCache.set(env, byTime);
  }
  let d = byTime.get(accessTime);
  if (!d) {
    d = new Derived(env, accessTime);
    byTime.set(accessTime, d);
  }
  return d;
}

// ---------------------------------------------------------------- host objects (Java objects in Ranger)

/** A Java object exposed to Ranger scripts: methods by name, bean properties by name. */
export abstract class Host {
  abstract call(name: string, args: unknown[], scope: Scope): unknown;
  abstract has(name: string): boolean;
  /** Bean-style property read (`ctx.result`, `tag.type`, map keys). */
  get(name: string, scope: Scope): unknown {
    const getter = `get${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    if (this.has(getter)) return this.call(getter, [], scope);
    const is = `is${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    if (this.has(is)) return this.call(is, [], scope);
    return undefined;
  }
  toString(): string {
    return `[object ${this.constructor.name}]`;
  }
}

type Method<T> = (self: T, args: unknown[], scope: Scope) => unknown;

function table<T>(methods: Record<string, Method<T>>): Map<string, Method<T>> {
  return new Map(Object.entries(methods));
}

/** java.util.Map view (tag attributes, getTagAttributes results). */
export class MapHost extends Host {
  readonly data: Readonly<Record<string, unknown>>;
  constructor(data: Readonly<Record<string, unknown>>) {
    super();
    this.data = data;
  }
  static readonly METHODS = table<MapHost>({
    get: (m, [k]) => (typeof k === "string" && own(m.data, k) ? m.data[k] : null),
    getOrDefault: (m, [k, d]) => (typeof k === "string" && own(m.data, k) ? m.data[k] : d),
    containsKey: (m, [k]) => typeof k === "string" && own(m.data, k),
    keySet: (m) => Object.keys(m.data),
    values: (m) => Object.values(m.data),
    size: (m) => Object.keys(m.data).length,
    isEmpty: (m) => Object.keys(m.data).length === 0,
  });
  has(name: string): boolean {
    return MapHost.METHODS.has(name);
  }
  call(name: string, args: unknown[], scope: Scope): unknown {
    return (MapHost.METHODS.get(name) as Method<MapHost>)(this, args, scope);
  }
  override get(name: string): unknown {
    return own(this.data, name) ? this.data[name] : undefined;
  }
}

/** RangerTagForEval. */
export class TagHost extends Host {
  readonly tag: RangerTagForEval;
  constructor(tag: RangerTagForEval) {
    super();
    this.tag = tag;
  }
  static readonly METHODS = table<TagHost>({
    getType: (t) => t.tag.type,
    getAttributes: (t) => new MapHost(t.tag.attributes ?? {}),
    getMatchType: (t) => t.tag.matchType ?? null,
    getOptions: (t) => new MapHost((t.tag.options as Record<string, unknown>) ?? {}),
  });
  has(name: string): boolean {
    return TagHost.METHODS.has(name);
  }
  call(name: string, args: unknown[], scope: Scope): unknown {
    return (TagHost.METHODS.get(name) as Method<TagHost>)(this, args, scope);
  }
}

/** java.util.Date. */
export class DateHost extends Host {
  readonly time: number;
  constructor(time: number) {
    super();
    this.time = time;
  }
  static readonly METHODS = table<DateHost>({
    getTime: (d) => d.time,
    before: (d, [o]) => o instanceof DateHost && d.time < o.time,
    after: (d, [o]) => o instanceof DateHost && d.time > o.time,
    equals: (d, [o]) => o instanceof DateHost && d.time === o.time,
    compareTo: (d, [o]) => Math.sign(d.time - (o as DateHost).time),
  });
  has(name: string): boolean {
    return DateHost.METHODS.has(name);
  }
  call(name: string, args: unknown[], scope: Scope): unknown {
    return (DateHost.METHODS.get(name) as Method<DateHost>)(this, args, scope);
  }
  override toString(): string {
    return new Date(this.time).toISOString();
  }
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const isNotBlank = (v: unknown) => typeof v === "string" && v.trim() !== "";

/** Ranger's toCsv / toCsvQ with varargs (default value, separator, open quote, close quote). */
function toCsv(values: readonly unknown[], args: unknown[], quoted: boolean): string {
  const def = args.length > 0 ? str(args[0]) : null;
  const sep = args.length > 1 ? (str(args[1]) ?? "") : ",";
  const open = quoted ? (args.length > 2 ? (str(args[2]) ?? "") : "'") : "";
  const close = quoted ? (args.length > 3 ? (str(args[3]) ?? open) : open) : "";
  const parts: string[] = [];
  for (const v of values) if (v !== null && v !== undefined) parts.push(`${open}${String(v)}${close}`);
  if (parts.length === 0 && def !== null) return `${open}${def}${close}`;
  return parts.join(sep);
}

/** The `ctx` object: RangerRequestScriptEvaluator's public methods. */
export class CtxHost extends Host {
  private readonly scope: Scope;
  constructor(scope: Scope) {
    super();
    this.scope = scope;
  }

  private get env(): ExpressionEnv {
    return this.scope.env;
  }
  private get d(): Derived {
    return this.scope.derived;
  }
  private tagAttributes(type: unknown): Readonly<Record<string, string>> | null {
    if (!isNotBlank(type)) return null;
    const t = (this.env.tags ?? []).find((x) => x.type === type);
    return t ? (t.attributes ?? {}) : null;
  }
  private ugAttr(name: unknown): unknown[] {
    const out: unknown[] = [];
    for (const g of this.d.userGroups) {
      const v = this.d.groupAttrs[g]?.[String(name)];
      if (v !== null && v !== undefined) out.push(v);
    }
    return out;
  }
  private tagAttr(name: unknown): unknown[] {
    const out: unknown[] = [];
    const tags = this.d.tags.tags;
    for (const t of this.d.tags.tagNames) {
      const v = tags[t]?.[String(name)];
      if (v !== null && v !== undefined) out.push(v);
    }
    return out;
  }
  private userAttrNames(): string[] {
    return Object.keys(this.d.userAttrs)
      .filter((k) => k !== "_name")
      .sort();
  }
  private ugAttrNames(): string[] {
    const s = new Set<string>();
    for (const a of Object.values(this.d.groupAttrs)) for (const k of Object.keys(a)) s.add(k);
    s.delete("_name");
    return [...s].sort();
  }
  private tagAttrNames(): string[] {
    const s = new Set<string>();
    for (const a of Object.values(this.d.tags.tags)) for (const k of Object.keys(a)) s.add(k);
    s.delete("_type");
    s.delete("_matchType");
    return [...s].sort();
  }
  private asDate(value: unknown): DateHost | null {
    if (!isNotBlank(value)) return null;
    const t = parseTagDate(value as string, this.scope.options.tagDateFormats);
    return t === null ? null : new DateHost(t);
  }
  private accessedAfter(expiry: DateHost | null): boolean {
    return expiry === null || this.scope.accessTime >= expiry.time;
  }
  private accessedBefore(expiry: DateHost | null): boolean {
    return !(expiry === null || this.scope.accessTime > expiry.time);
  }
  private timeBetween(from: unknown, to: unknown, tz: unknown): boolean {
    const zone = this.scope.options.defaultTimeZone ?? "UTC";
    const target = isNotBlank(tz) ? String(tz) : null;
    const f = parseRangeTime(from, zone, target);
    const t = parseRangeTime(to, zone, target);
    const now = this.scope.accessTime;
    if (t < 0) return now > f;
    if (f < 0) return now < t;
    return now >= f && now < t;
  }

  static readonly METHODS = table<CtxHost>({
    getResource: (c) => (c.env.resource ? Object.values(c.env.resource).flat().join("/") : null),
    getResourceZone: (c) => c.env.resourceZone ?? "",
    getResourceZones: (c) => (c.env.resourceZone ? [c.env.resourceZone] : []),
    getRequestContextAttribute: (c, [name]) => {
      if (!isNotBlank(name) || !c.env.context || !own(c.env.context, name as string)) return null;
      return str(c.env.context[name as string]);
    },
    isAccessTypeAny: (c) => c.env.isAccessTypeAny ?? (!c.env.accessType || c.env.accessType === "_any"),
    isAccessTypeDelegatedAdmin: (c) => c.env.isAccessTypeDelegatedAdmin ?? c.env.accessType === "_admin",
    getUser: (c) => c.env.user ?? null,
    getUserGroups: (c) => [...(c.env.userGroups ?? [])],
    getUserRoles: (c) => [...(c.env.userRoles ?? [])],
    getAccessTime: (c) => new DateHost(c.scope.accessTime),
    getClientIPAddress: (c) => c.env.clientIPAddress ?? null,
    getClientType: (c) => c.env.clientType ?? null,
    getAction: (c) => c.env.action ?? null,
    getRequestData: (c) => c.env.requestData ?? null,
    getSessionId: (c) => c.env.sessionId ?? null,
    getCurrentTag: (c) => (c.env.currentTag ? new TagHost(c.env.currentTag) : null),
    getCurrentTagType: (c) => c.env.currentTag?.type ?? null,
    getAllTagTypes: (c) => (c.env.tags?.length ? [...new Set(c.env.tags.map((t) => t.type))] : null),
    getTagAttributes: (c, [type]) => {
      const a = c.tagAttributes(type);
      return a ? new MapHost(a) : null;
    },
    getTagAttributesForAllMatchingTags: (c, [type]) => {
      const a = c.tagAttributes(type);
      return a ? [new MapHost(a)] : null;
    },
    getAttributeNames: (c, [type]) => {
      const a = c.tagAttributes(type);
      return a ? Object.keys(a) : null;
    },
    getAttributeValue: (c, args) => {
      if (args.length >= 2) {
        const a = c.tagAttributes(args[0]);
        return a && own(a, String(args[1])) ? a[String(args[1])] : null;
      }
      const attrs = c.env.currentTag?.attributes;
      return isNotBlank(args[0]) && attrs && own(attrs, String(args[0])) ? attrs[String(args[0])] : null;
    },
    getAttributeValueForAllMatchingTags: (c, [type, name]) => {
      const a = c.tagAttributes(type);
      return a && own(a, String(name)) ? [a[String(name)]] : null;
    },
    getResult: (c) => c.scope.result,
    setResult: (c, [v]) => {
      c.scope.result = Boolean(v);
      return undefined;
    },
    getAsDate: (c, [v]) => c.asDate(v),
    getTagAttributeAsDate: (c, [type, name]) => c.asDate(c.tagAttributes(type)?.[String(name)]),
    isAccessedAfter: (c, args) =>
      c.accessedAfter(
        args.length >= 2
          ? c.asDate(c.tagAttributes(args[0])?.[String(args[1])])
          : c.asDate(c.env.currentTag?.attributes?.[String(args[0])]),
      ),
    isAccessedBefore: (c, args) =>
      c.accessedBefore(
        args.length >= 2
          ? c.asDate(c.tagAttributes(args[0])?.[String(args[1])])
          : c.asDate(c.env.currentTag?.attributes?.[String(args[0])]),
      ),
    tagNames: (c, args) => toCsv(c.d.tags.tagNames, args, false),
    tagNamesQ: (c, args) => toCsv(c.d.tags.tagNames, args, true),
    tagAttrNames: (c, args) => toCsv(c.tagAttrNames(), args, false),
    tagAttrNamesQ: (c, args) => toCsv(c.tagAttrNames(), args, true),
    tagAttr: (c, [name, ...args]) => toCsv(c.tagAttr(name), args, false),
    tagAttrQ: (c, [name, ...args]) => toCsv(c.tagAttr(name), args, true),
    ugNames: (c, args) => toCsv(c.d.userGroups, args, false),
    ugNamesQ: (c, args) => toCsv(c.d.userGroups, args, true),
    ugAttrNames: (c, args) => toCsv(c.ugAttrNames(), args, false),
    ugAttrNamesQ: (c, args) => toCsv(c.ugAttrNames(), args, true),
    ugAttr: (c, [name, ...args]) => toCsv(c.ugAttr(name), args, false),
    ugAttrQ: (c, [name, ...args]) => toCsv(c.ugAttr(name), args, true),
    urNames: (c, args) => toCsv(c.d.userRoles, args, false),
    urNamesQ: (c, args) => toCsv(c.d.userRoles, args, true),
    userAttrNames: (c, args) => toCsv(c.userAttrNames(), args, false),
    userAttrNamesQ: (c, args) => toCsv(c.userAttrNames(), args, true),
    userAttr: (c, [name, ...args]) => toCsv([c.d.userAttrs[String(name)]], args, false),
    userAttrQ: (c, [name, ...args]) => toCsv([c.d.userAttrs[String(name)]], args, true),
    hasTag: (c, [name]) => own(c.d.tags.tags, String(name)),
    hasAnyTag: (c) => Object.keys(c.d.tags.tags).length > 0,
    hasUserAttr: (c, [name]) => own(c.d.userAttrs, String(name)),
    hasUgAttr: (c, [name]) => Object.values(c.d.groupAttrs).some((a) => own(a, String(name))),
    hasTagAttr: (c, [name]) => (c.env.tags ?? []).some((t) => own(t.attributes ?? {}, String(name))),
    isInGroup: (c, [name]) => c.d.userGroups.includes(name as string),
    isInRole: (c, [name]) => c.d.userRoles.includes(name as string),
    isInAnyGroup: (c) => c.d.userGroups.length > 0,
    isInAnyRole: (c) => c.d.userRoles.length > 0,
    isAccessTimeAfter: (c, [t, tz]) => c.timeBetween(t, null, tz),
    isAccessTimeBefore: (c, [t, tz]) => c.timeBetween(null, t, tz),
    isAccessTimeBetween: (c, [f, t, tz]) => c.timeBetween(f, t, tz),
    ugNamesCsv: (c) => toCsv(c.d.userGroups, [null, ","], false),
    ugNamesCsvQ: (c) => toCsv(c.d.userGroups, [null, ",", "'"], true),
    urNamesCsv: (c) => toCsv(c.d.userRoles, [null, ","], false),
    urNamesCsvQ: (c) => toCsv(c.d.userRoles, [null, ",", "'"], true),
    tagNamesCsv: (c) => toCsv(c.d.tags.tagNames, [null, ","], false),
    tagNamesCsvQ: (c) => toCsv(c.d.tags.tagNames, [null, ",", "'"], true),
    userAttrNamesCsv: (c) => toCsv(c.userAttrNames(), [null, ","], false),
    userAttrNamesCsvQ: (c) => toCsv(c.userAttrNames(), [null, ",", "'"], true),
    ugAttrNamesCsv: (c) => toCsv(c.ugAttrNames(), [null, ","], false),
    ugAttrNamesCsvQ: (c) => toCsv(c.ugAttrNames(), [null, ",", "'"], true),
    tagAttrNamesCsv: (c) => toCsv(c.tagAttrNames(), [null, ","], false),
    tagAttrNamesCsvQ: (c) => toCsv(c.tagAttrNames(), [null, ",", "'"], true),
    ugAttrCsv: (c, [name]) => toCsv(c.ugAttr(name), [null, ","], false),
    ugAttrCsvQ: (c, [name]) => toCsv(c.ugAttr(name), [null, ",", "'"], true),
    tagAttrCsv: (c, [name]) => toCsv(c.tagAttr(name), [null, ","], false),
    tagAttrCsvQ: (c, [name]) => toCsv(c.tagAttr(name), [null, ",", "'"], true),
    logDebug: () => undefined,
    logInfo: () => undefined,
    logWarn: () => undefined,
    logError: () => undefined,
    logFatal: () => undefined,
  });

  has(name: string): boolean {
    return CtxHost.METHODS.has(name);
  }
  call(name: string, args: unknown[], scope: Scope): unknown {
    return (CtxHost.METHODS.get(name) as Method<CtxHost>)(this, args, scope);
  }
}

// ---------------------------------------------------------------- dates

const ATLAS_DATE_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";

/** Compiles a SimpleDateFormat pattern (letters y M d H m s S and quoted text) to a strict regex parser. */
const formatCache = new Map<string, ((s: string) => number | null) | null>();
function dateParser(pattern: string): ((s: string) => number | null) | null {
  if (formatCache.has(pattern)) return formatCache.get(pattern) ?? null;
  const fields: string[] = [];
  let re = "^";
  let ok = true;
  for (let i = 0; i < pattern.length && ok; ) {
    const c = pattern[i];
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) ok = false;
      re += end === i + 1 ? "'" : pattern.slice(i + 1, end).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      if (!"yMdHmsS".includes(c)) ok = false;
      fields.push(c);
      re += "(\\d+)";
      i = j;
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      i++;
    }
  }
  const regex = ok ? new RegExp(re) : null;
  const parser = regex
    ? (s: string) => {
        const m = regex.exec(s);
        if (!m) return null;
        const v: Record<string, number> = { y: 1970, M: 1, d: 1, H: 0, m: 0, s: 0, S: 0 };
        fields.forEach((f, k) => {
          v[f] = Number(m[k + 1]);
        });
        // non-lenient: every field must be in range
        if (v.M < 1 || v.M > 12 || v.d < 1 || v.H > 23 || v.m > 59 || v.s > 59 || v.S > 999) return null;
        const t = utcFromFields(v.y, v.M - 1, v.d, v.H, v.m, v.s, v.S);
        const d = new Date(t);
        return d.getUTCMonth() === v.M - 1 && d.getUTCDate() === v.d ? t : null;
      }
    : null;
  formatCache.set(pattern, parser);
  return parser;
}

/**
 * RangerRequestScriptEvaluator#getAsDate: tries `yyyy/MM/dd`, the Atlas format and any extra
 * formats, longest pattern first, strictly; the date is read as UTC (Ranger parses in the JVM
 * zone and then shifts by that zone's current offset, i.e. UTC up to DST differences).
 */
export function parseTagDate(value: string, extra?: readonly string[]): number | null {
  const formats = ["yyyy/MM/dd", ATLAS_DATE_FORMAT, ...(extra ?? [])].sort((a, b) => b.length - a.length);
  for (const f of formats) {
    const p = dateParser(f);
    const t = p ? p(value) : null;
    if (t !== null) return t;
  }
  return null;
}

/** RangerTimeRangeChecker#parseDateTime: lenient formats in the default zone, shifted to `target`; -1 if none. */
function parseRangeTime(value: unknown, zoneId: string, target: string | null): number {
  if (!isNotBlank(value)) return -1;
  const s = String(value);
  const m =
    /^(\d+)\/(\d+)\/(\d+) (\d+):(\d+):(\d+)/.exec(s) ??
    /^(\d+)\/(\d+)\/(\d+) (\d+):(\d+)/.exec(s) ??
    /^(\d+)\/(\d+)\/(\d+)/.exec(s);
  if (!m) return -1;
  const n = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const zone = getZone(zoneId);
  const t = wallToInstant(zone, utcFromFields(n[0], n[1] - 1, n[2], n[3] ?? 0, n[4] ?? 0, n[5] ?? 0, 0));
  if (target === null) return t;
  const tz = getZone(target);
  return tz.id === zone.id ? t : t + zone.offsetAt(t) - tz.offsetAt(t);
}
