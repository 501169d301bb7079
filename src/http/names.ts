import { fieldError, ValidationFailed } from "../errors.ts";

// Invisible and bidirectional-control characters: soft hyphen, Arabic letter mark, Mongolian vowel
// separator, zero-width space/joiners, LRM/RLM, bidi embeddings and overrides, word joiner and
// invisible operators, bidi isolates, BOM. They let two names that print alike differ.
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * A name in its one spelling (Unicode NFC), applied before every uniqueness check and lookup by
 * name, so the composed and decomposed spellings of "é" name the same entity instead of two
 * look-alikes (docs/input-rules.md, "Look-alike names").
 */
export function normaliseName(name: string): string {
  return name.normalize("NFC");
}

/** True when `name` holds an invisible or bidirectional-control character. */
export function hasInvisibleCharacter(name: string): boolean {
  return INVISIBLE.test(name);
}

/** The problem text of the rule `noInvisibleCharacters`, the same wherever a name is checked. */
export const INVISIBLE_PROBLEM =
  "must not contain invisible or bidirectional-control characters (zero-width space, RLO, ...)";

/**
 * Refuses a name holding an invisible or bidirectional-control character (zero-width space, RLO,
 * ...): such a name prints like another one and could stand in for it in a policy or a review.
 *
 * @throws VALIDATION_FAILED naming `field` and the rule `noInvisibleCharacters`.
 */
export function checkVisibleName(name: string, field: string): void {
  if (INVISIBLE.test(name)) {
    throw fieldError(ValidationFailed, field, "noInvisibleCharacters", INVISIBLE_PROBLEM);
  }
}

/**
 * The name an entity is written under: checked with `checkVisibleName`, then normalised to NFC.
 * Every create and rename of a named entity (user, group, role, service account, organisation,
 * service, policy, zone) passes its name through here.
 */
export function visibleName(name: string, field: string): string {
  checkVisibleName(name, field);
  return normaliseName(name);
}
