/**
 * A RunQuery as SQLite SQL. A condition on a param, tag or metric is the set of runs that satisfy
 * it, read through that table's index on (key, value): `r.id IN (SELECT run_id FROM params WHERE
 * key = ? AND num > ?)`; attributes are columns of runs. Values are always bound, never spliced.
 * (Recursive over the filter tree: the service's parser bounds its depth, limits.maxFilterDepth.)
 */
import { KIND } from './metric-codec';
import type { Attribute, Comparison, Field, Filter, Literal, RunQuery, SortKey } from './run-query';

/** SQL with the values its placeholders take, in order. */
export interface Sql {
  sql: string;
  args: unknown[];
}

export interface CompiledQuery {
  /** The sort key's LEFT JOIN, if any. */
  join: Sql;
  where: Sql;
  orderBy: string;
}

const SQL_CMP: Record<Comparison, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** Seconds since the epoch of an ISO 8601 time column. */
const epoch = (column: string) => `((julianday(${column}) - 2440587.5) * 86400.0)`;

const ATTRIBUTE_COLUMNS: Record<Attribute, string> = {
  id: 'r.id',
  name: 'r.name',
  experiment: 'e.name',
  status: 'r.status',
  startTime: 'r.start_time',
  endTime: 'r.end_time',
  // A running run's duration so far.
  duration: `(${epoch("coalesce(r.end_time, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")} - ${epoch('r.start_time')})`,
};

export function compileRunQuery(q: RunQuery): CompiledQuery {
  const parts: Sql[] = [{ sql: q.deleted ? 'r.deleted_time IS NOT NULL' : 'r.deleted_time IS NULL', args: [] }];
  if (q.experiment !== undefined) parts.push({ sql: 'e.name = ?', args: [q.experiment] });
  if (q.status !== undefined) parts.push({ sql: 'r.status = ?', args: [q.status] });
  if (q.filter) parts.push(compileFilter(q.filter));
  const where = join(parts, ' AND ');
  const sort = compileSort(q.sort);
  return { join: sort.join, where: { sql: `WHERE ${where.sql}`, args: where.args }, orderBy: sort.orderBy };
}

function join(parts: Sql[], by: string): Sql {
  return { sql: parts.map((p) => p.sql).join(by), args: parts.flatMap((p) => p.args) };
}

function compileFilter(f: Filter): Sql {
  switch (f.op) {
    case 'and':
    case 'or': {
      const all = join(f.args.map(compileFilter), f.op === 'and' ? ' AND ' : ' OR ');
      return { sql: `(${all.sql})`, args: all.args };
    }
    case 'not': {
      const arg = compileFilter(f.arg);
      return { sql: `(NOT ${arg.sql})`, args: arg.args };
    }
    case 'compare': {
      const l = literal(f.value);
      return condition(f.field, l.kind, (column) => ({ sql: `${column} ${SQL_CMP[f.cmp]} ?`, args: [l.value] }));
    }
    case 'like':
      // LIKE in SQLite ignores ASCII case: ILIKE is it; LIKE, which does not, is GLOB.
      return condition(f.field, 'text', (column) => {
        const test = f.caseInsensitive ? `${column} LIKE ?` : `${column} GLOB ?`;
        return { sql: f.negated ? `NOT (${test})` : test, args: [f.caseInsensitive ? f.pattern : likeToGlob(f.pattern)] };
      });
    case 'in': {
      // One IN per kind of value: numbers against numbers, the rest against text.
      const byKind = new Map<'number' | 'text', unknown[]>();
      for (const v of f.values) {
        const l = literal(v);
        byKind.set(l.kind, [...(byKind.get(l.kind) ?? []), l.value]);
      }
      const any = join(
        [...byKind].map(([kind, values]) => condition(f.field, kind, (column) => ({ sql: `${column} IN (${values.map(() => '?').join(', ')})`, args: values }))),
        ' OR ',
      );
      return { sql: f.negated ? `(NOT (${any.sql}))` : `(${any.sql})`, args: any.args };
    }
  }
}

/**
 * `test(column)` on the field's value column: an attribute's own column, or, for a param, tag or
 * metric, the runs that have it with a value that passes, through the table's (key, value) index.
 */
function condition(field: Field, kind: 'number' | 'text', test: (column: string) => Sql): Sql {
  switch (field.kind) {
    case 'attribute': {
      const column = ATTRIBUTE_COLUMNS[field.name];
      const timed = field.name === 'startTime' || field.name === 'endTime';
      // Times compare as ISO text with a string ('2025-01-01'), as epoch seconds with a number.
      return test(timed && kind === 'number' ? epoch(column) : column);
    }
    case 'param': {
      // A number compares with numeric params; a string with any param's text (0.01's is "0.01").
      const t = test(kind === 'number' ? 'num' : 'text');
      const kindCheck = kind === 'number' ? "kind = 'number' AND " : '';
      return { sql: `r.id IN (SELECT run_id FROM params WHERE key = ? AND ${kindCheck}${t.sql})`, args: [field.name, ...t.args] };
    }
    case 'tag': {
      const t = test('value');
      return { sql: `r.id IN (SELECT run_id FROM tags WHERE key = ? AND ${t.sql})`, args: [field.name, ...t.args] };
    }
    case 'metric': {
      const column = field.agg === 'last' ? 'last_value' : `${field.agg}_value`;
      const t = test(column);
      // The last value may be a string; min and max are of the numbers only.
      const kindCheck = field.agg !== 'last' ? '' : kind === 'number' ? `last_kind IN (${KIND.integer}, ${KIND.float}) AND ` : `last_kind = ${KIND.string} AND `;
      return { sql: `r.id IN (SELECT run_id FROM series WHERE name = ? AND ${kindCheck}${t.sql})`, args: [field.name, ...t.args] };
    }
  }
}

/** A literal as its column keeps it: numbers as numbers, strings and booleans as text ("true"). */
function literal(v: Literal): { kind: 'number' | 'text'; value: number | string } {
  if (typeof v === 'number') return { kind: 'number', value: v };
  return { kind: 'text', value: String(v) };
}

/** LIKE's % and _ as GLOB's * and ?, GLOB's own specials as one-character classes. */
function likeToGlob(pattern: string): string {
  let out = '';
  for (const c of pattern) {
    if (c === '%') out += '*';
    else if (c === '_') out += '?';
    else if (c === '*' || c === '?' || c === '[' || c === ']') out += `[${c}]`;
    else out += c;
  }
  return out;
}

/** The sort: a LEFT JOIN on the key's table (runs without the key come last, either way), then newest first. */
function compileSort(sort: SortKey | undefined): { join: Sql; orderBy: string } {
  const tail = 'r.start_time DESC, r.rowid DESC';
  const none: Sql = { sql: '', args: [] };
  if (!sort) return { join: none, orderBy: `ORDER BY ${tail}` };
  const dir = sort.descending ? 'DESC' : 'ASC';
  const f = sort.field;
  switch (f.kind) {
    case 'attribute': {
      const column = ATTRIBUTE_COLUMNS[f.name];
      return { join: none, orderBy: `ORDER BY (${column} IS NULL), ${column} ${dir}, ${tail}` };
    }
    case 'param':
      // Numbers in order, then the others by their text.
      return {
        join: { sql: 'LEFT JOIN params sk ON sk.run_id = r.id AND sk.key = ?', args: [f.name] },
        orderBy: `ORDER BY (sk.text IS NULL), (sk.num IS NULL), sk.num ${dir}, sk.text ${dir}, ${tail}`,
      };
    case 'tag':
      return { join: { sql: 'LEFT JOIN tags sk ON sk.run_id = r.id AND sk.key = ?', args: [f.name] }, orderBy: `ORDER BY (sk.value IS NULL), sk.value ${dir}, ${tail}` };
    case 'metric': {
      const column = f.agg === 'last' ? 'last_value' : `${f.agg}_value`;
      return {
        join: { sql: 'LEFT JOIN series sk ON sk.run_id = r.id AND sk.name = ?', args: [f.name] },
        orderBy: `ORDER BY (sk.${column} IS NULL), sk.${column} ${dir}, ${tail}`,
      };
    }
  }
}
