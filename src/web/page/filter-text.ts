/**
 * What the runs page sends the service: the filter box's text as a filter expression, and a
 * column as a sort key. Both are the service's MLflow-style syntax (docs/cli.md); the page parses
 * neither, so the service's error is the one shown.
 */

/** Words that make a text an expression, not plain words to look for. */
const OPERATOR_WORDS = new Set(['and', 'or', 'not', 'like', 'ilike', 'in']);
const FIELD_PREFIX = /^(params|metrics|tags|attributes)\./i;

/**
 * Plain words (no operator, no quote, no parenthesis, no `params.`-like key) are looked for in
 * the run's name or id, each word somewhere, case ignored:
 *   resnet lr0.1  ->  (name ILIKE '%resnet%' or id ILIKE '%resnet%') and (name ILIKE '%lr0.1%' or id ILIKE '%lr0.1%')
 * Anything else goes to the service as it was typed.
 */
export function filterExpression(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  const words = trimmed.split(/\s+/);
  const plain = !/[=<>!()'"`]/.test(trimmed) && !words.some((w) => OPERATOR_WORDS.has(w.toLowerCase()) || FIELD_PREFIX.test(w));
  if (!plain) return trimmed;
  const terms = words.map((w) => {
    const pattern = quoteString(`%${w}%`);
    return `(name ILIKE ${pattern} or id ILIKE ${pattern})`;
  });
  return terms.length === 1 ? terms[0].slice(1, -1) : terms.join(' and ');
}

/** A string literal of the filter syntax. */
export function quoteString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

const PLAIN_NAME = /^[A-Za-z0-9_\-/:.]+$/;

/**
 * A param, tag or metric name as the syntax reads it: plain when it can be, else in backticks (or,
 * holding a backtick itself, as a string). A metric's plain name ending in .min, .max or .last
 * would be read as that aggregate, so it is quoted.
 */
export function quoteName(name: string, metric = false): string {
  if (PLAIN_NAME.test(name) && !(metric && /\.(min|max|last)$/i.test(name))) return name;
  return name.includes('`') ? quoteString(name) : `\`${name}\``;
}

/** The page's column keys: attributes by name, `m:`, `p:`, `t:` + a metric, param or tag name. */
export type ColumnKey = 'status' | 'name' | 'experiment' | 'start' | 'duration' | `m:${string}` | `p:${string}` | `t:${string}`;

const ATTRIBUTE_KEYS: Record<string, string> = {
  status: 'attributes.status',
  name: 'attributes.name',
  experiment: 'attributes.experiment',
  start: 'attributes.startTime',
  duration: 'attributes.duration',
};

/** The service's sort key for a column, e.g. `metrics.`val acc` desc`. */
export function sortExpression(key: ColumnKey, desc: boolean): string {
  const dir = desc ? 'desc' : 'asc';
  const attribute = ATTRIBUTE_KEYS[key];
  if (attribute) return `${attribute} ${dir}`;
  const name = key.slice(2);
  if (key.startsWith('m:')) return `metrics.${quoteName(name, true)} ${dir}`;
  if (key.startsWith('p:')) return `params.${quoteName(name)} ${dir}`;
  return `tags.${quoteName(name)} ${dir}`;
}

export function isColumnKey(s: string): s is ColumnKey {
  return s in ATTRIBUTE_KEYS || /^[mpt]:./.test(s);
}
