/**
 * A RunQuery as PostgreSQL SQL: the same semantics as SQLite's compiler (sqlite-run-query.ts), so
 * test/store/run-query.test.ts passes on both. A condition on a param, tag or metric is the set of
 * runs that satisfy it, read through that table's index on (key, value). Values are always bound
 * ($n), never spliced. Text compares by code point (the columns are COLLATE "C").
 */
import { KIND } from './metric-codec';
import type { Attribute, Comparison, Field, Filter, Literal, RunQuery, SortKey } from './run-query';

/** A fragment with `?` where values go, numbered $n only once whole (numbered()). */
export interface Sql {
  sql: string;
  args: unknown[];
}

export interface PgCompiledQuery {
  /** FROM … WHERE …, with the sort key's LEFT JOIN. */
  from: Sql;
  orderBy: string;
}

const SQL_CMP: Record<Comparison, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** Seconds since the epoch of an ISO 8601 time column. */
const epoch = (column: string) => `extract(epoch from (${column})::timestamptz)`;

const ATTRIBUTE_COLUMNS: Record<Attribute, string> = {
  id: 'r.id',
  name: 'r.name',
  experiment: 'e.name',
  status: 'r.status',
  startTime: 'r.start_time',
  endTime: 'r.end_time',
  // A running run's duration so far.
  duration: `(extract(epoch from coalesce((r.end_time)::timestamptz, now())) - ${epoch('r.start_time')})`,
};

/** `?` placeholders numbered $1, $2…, after `first - 1` already taken. */
export function numbered(q: Sql, first = 1): Sql {
  let n = first;
  return { sql: q.sql.replace(/\?/g, () => `$${n++}`), args: q.args };
}

export function compilePgRunQuery(q: RunQuery): PgCompiledQuery {
  const parts: Sql[] = [{ sql: q.deleted ? 'r.deleted_time IS NOT NULL' : 'r.deleted_time IS NULL', args: [] }];
  if (q.experiment !== undefined) parts.push({ sql: 'e.name = ?', args: [q.experiment] });
  if (q.status !== undefined) parts.push({ sql: 'r.status = ?', args: [q.status] });
  if (q.filter) parts.push(compileFilter(q.filter));
  const where = join(parts, ' AND ');
  const sort = compileSort(q.sort);
  return {
    from: { sql: `FROM runs r JOIN experiments e ON e.id = r.experiment_id ${sort.join.sql} WHERE ${where.sql}`, args: [...sort.join.args, ...where.args] },
    orderBy: sort.orderBy,
  };
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
      // No escape character: % and _ are the only specials, as in SQLite.
      return condition(f.field, 'text', (column) => {
        const test = `${column} ${f.caseInsensitive ? 'ILIKE' : 'LIKE'} ? ESCAPE ''`;
        return { sql: f.negated ? `NOT (${test})` : test, args: [f.pattern] };
      });
    case 'in': {
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

function condition(field: Field, kind: 'number' | 'text', test: (column: string) => Sql): Sql {
  switch (field.kind) {
    case 'attribute': {
      const column = ATTRIBUTE_COLUMNS[field.name];
      const timed = field.name === 'startTime' || field.name === 'endTime';
      if (timed && kind === 'number') return test(epoch(column));
      // A number against a text column compares as text (as SQLite's text affinity does); a string against the duration, with its text.
      if (field.name === 'duration' && kind === 'text') return test(`(${column})::text`);
      return test(column);
    }
    case 'param': {
      const t = test(kind === 'number' ? 'num' : 'text');
      const kindCheck = kind === 'number' ? "kind = 'number' AND " : '';
      return { sql: `r.id IN (SELECT run_id FROM params WHERE key = ? AND ${kindCheck}${t.sql})`, args: [field.name, ...t.args] };
    }
    case 'tag': {
      const t = test('value');
      return { sql: `r.id IN (SELECT run_id FROM tags WHERE key = ? AND ${t.sql})`, args: [field.name, ...t.args] };
    }
    case 'metric': {
      let column: string;
      let kindCheck = '';
      if (field.agg === 'last') {
        column = kind === 'number' ? 'last_num' : 'last_text';
        kindCheck = kind === 'number' ? `last_kind IN (${KIND.integer}, ${KIND.float}) AND ` : `last_kind = ${KIND.string} AND `;
      } else {
        // min and max are of the numbers only; a string is compared with their text.
        column = kind === 'number' ? `${field.agg}_value` : `(${field.agg}_value)::text`;
      }
      const t = test(column);
      return { sql: `r.id IN (SELECT run_id FROM series WHERE name = ? AND ${kindCheck}${t.sql})`, args: [field.name, ...t.args] };
    }
  }
}

/** A literal as its column keeps it: numbers as numbers, strings and booleans as text ("true"). */
function literal(v: Literal): { kind: 'number' | 'text'; value: number | string } {
  if (typeof v === 'number') return { kind: 'number', value: v };
  return { kind: 'text', value: String(v) };
}

/** The sort: a LEFT JOIN on the key's table (runs without the key come last, either way), then newest first. */
function compileSort(sort: SortKey | undefined): { join: Sql; orderBy: string } {
  const tail = 'r.start_time DESC, r.n DESC';
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
      return {
        join: { sql: 'LEFT JOIN params sk ON sk.run_id = r.id AND sk.key = ?', args: [f.name] },
        orderBy: `ORDER BY (sk.text IS NULL), (sk.num IS NULL), sk.num ${dir}, sk.text ${dir}, ${tail}`,
      };
    case 'tag':
      return { join: { sql: 'LEFT JOIN tags sk ON sk.run_id = r.id AND sk.key = ?', args: [f.name] }, orderBy: `ORDER BY (sk.value IS NULL), sk.value ${dir}, ${tail}` };
    case 'metric': {
      const join = { sql: 'LEFT JOIN series sk ON sk.run_id = r.id AND sk.name = ?', args: [f.name] };
      if (f.agg !== 'last') {
        const column = `sk.${f.agg}_value`;
        return { join, orderBy: `ORDER BY (${column} IS NULL), ${column} ${dir}, ${tail}` };
      }
      // As SQLite orders a column of numbers and texts: numbers before texts, reversed when descending.
      return {
        join,
        orderBy: `ORDER BY (sk.last_num IS NULL AND sk.last_text IS NULL), (sk.last_text IS NOT NULL) ${dir}, sk.last_num ${dir}, sk.last_text ${dir}, ${tail}`,
      };
    }
  }
}
