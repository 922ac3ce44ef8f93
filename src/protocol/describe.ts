/**
 * Untrusted values in messages: described in a few words, never serialised whole. JSON.stringify
 * of a deeply nested value throws (the call stack), and of a big one makes a huge message.
 */
const SHOWN_CHARS = 40;

/** A string as a short JSON literal: quoted, escaped (lone surrogates too), cut to ~40 characters. */
export function quote(s: string): string {
  if (s.length <= SHOWN_CHARS) return JSON.stringify(s);
  let cut = s.slice(0, SHOWN_CHARS);
  // Do not split a surrogate pair.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${JSON.stringify(cut).slice(0, -1)}..." (${s.length} characters)`;
}

/** A value in a few words: a scalar as written (shortened), else its kind. Never recursive. */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'undefined':
      return 'nothing';
    case 'object':
      if (v === null) return 'null';
      if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
      return 'an object';
    default:
      return typeof v;
  }
}
