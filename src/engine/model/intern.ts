/**
 * The copy of a string V8 keeps in its string table ("internalized"). Strings a request gets from
 * JSON.parse or from source literals are internalized as well, and two internalized strings are
 * equal only when they are the same object: a Map lookup or `===` between a request's string and
 * the engine's internalized copy then decides on the pointer, without reading the engine's string
 * (cold memory once there are 100,000 policies). Strings that are not internalized (built at run
 * time) still compare by content, as before. Build-time only: one small object per call.
 */
export function intern(s: string): string {
  const holder: Record<string, number> = {};
  holder[s] = 0;
  // property keys are internalized strings (array-index keys come back as an equal string)
  for (const k in holder) return k;
  return s;
}
