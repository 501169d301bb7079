import { ValidationFailed } from "../errors.ts";
import { checkVisibleName } from "../http/names.ts";
import { fail } from "./fail.ts";

/** One spelling per name (NFC): shared by every named entity, see src/http/names.ts. */
export { normaliseName } from "../http/names.ts";

/** Longest group name, in characters (Unicode code points). */
export const GROUP_NAME_MAX = 255;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is exactly about control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a group name against the built-in rules and the organisation's stricter pattern.
 * Policies refer to groups by name, so names must be printable, path-safe (no `/`, the ambiguity
 * Keycloak's group paths suffered) and free of invisible edges (leading or trailing spaces).
 *
 * @throws VALIDATION_FAILED naming `field` and the rule that failed.
 */
export function checkGroupName(name: string, orgPattern: string | null, field = "body.name"): void {
  const length = [...name].length;
  if (length < 1) throw fail(ValidationFailed, field, "minLength", "must not be empty");
  if (length > GROUP_NAME_MAX) {
    throw fail(ValidationFailed, field, "maxLength", `must be at most ${GROUP_NAME_MAX} characters, got ${length}`);
  }
  if (name.includes("/")) throw fail(ValidationFailed, field, "noSlash", "must not contain `/`");
  if (CONTROL.test(name)) {
    throw fail(ValidationFailed, field, "noControlCharacters", "must not contain control characters");
  }
  checkVisibleName(name, field);
  if (name.trim() !== name) {
    throw fail(ValidationFailed, field, "noEdgeSpace", "must not start or end with white space");
  }
  if (orgPattern && !new RegExp(orgPattern, "u").test(name)) {
    throw fail(
      ValidationFailed,
      field,
      "orgPattern",
      `\`${name}\` does not match the organisation's group name pattern \`${orgPattern}\``,
    );
  }
}

/** Checks that an organisation's group name pattern is a valid regular expression. */
export function checkNamePattern(pattern: string, field = "body.groupNamePattern"): void {
  try {
    new RegExp(pattern, "u");
  } catch (err) {
    throw fail(ValidationFailed, field, "regex", `is not a valid regular expression: ${(err as Error).message}`);
  }
}
