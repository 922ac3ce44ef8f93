/**
 * Well-formed Unicode. A string holding a lone surrogate (half of a UTF-16 pair) has no UTF-8
 * form: stored, it would come back as U+FFFD, a different string, so it is refused where it
 * enters instead.
 */
declare global {
  interface String {
    /** ES2024 (Node 20 has it; TypeScript's ES2022 library does not declare it). */
    isWellFormed(): boolean;
  }
}

/** The first lone surrogate's code unit, or undefined when `s` is well-formed. */
export function loneSurrogate(s: string): number | undefined {
  if (s.isWellFormed()) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    return c;
  }
  return undefined;
}

/** "contains a lone surrogate (U+D800), not valid Unicode", or undefined when `s` is well-formed. */
export function surrogateProblem(s: string): string | undefined {
  const c = loneSurrogate(s);
  return c === undefined ? undefined : `contains a lone surrogate (U+${c.toString(16).toUpperCase()}), not valid Unicode`;
}
