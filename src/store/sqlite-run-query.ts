/**
 * A RunQuery as SQLite SQL. A condition on a param, tag or metric is about the set of runs that
 * satisfy it, one table's rows (`key = ? AND num > ?` on params, through its (key, value) index).
 * A set few runs are in is read whole, `r.id IN (SELECT run_id FROM params WHERE ...)`, so the
 * query may start from it; a set many are in is checked run by run, `EXISTS (SELECT 1 FROM params
 * WHERE run_id = r.id AND ...)`, a primary-key lookup, so that the query can walk runs in the
 * sort's order and stop at the page's end instead of reading tens of thousands of ids first.
 * Which is which the caller says (SqliteRunList counts the first rows of each set).
 *
 * A sort on a param, tag or metric is done in segments, each walked in its index's order: the
 * runs that have the key, then those without it. In the first, a condition of the filter's
 * top-level `and` on the sort key itself tests the joined row (it bounds the index's range), and
 * a segment such a condition rules out is left out. Attributes are columns of runs. Values are
 * always bound, never spliced. (Recursive over the filter tree: the service's parser bounds its
 * depth, limits.maxFilterDepth.)
 */
import { KIND } from './metric-codec';
import type { Attribute, Comparison, Field, Filter, Literal, RunQuery, SortKey } from './run-query';

/** SQL with the values its placeholders take, in order. */
export interface Sql {
  sql: string;
  args: unknown[];
}

/** The rows of `table` a condition on a param, tag or metric selects, for counting its first ones. */
export interface RunSet {
  table: 'params' | 'tags' | 'series';
  /** The condition or a looser one, that the table's (key, value) index answers alone. */
  probe: Sql;
}

/** Whether few enough runs are in a set to read it whole. */
export type SetIsSmall = (set: RunSet) => boolean;

/** One part of the order: its runs, `join` and `where`, in `orderBy`. */
export interface Segment {
  join: Sql;
  where: Sql;
  orderBy: string;
}

export interface CompiledQuery {
  /** Every run the query selects (for the count). */
  where: Sql;
  /** The order: all of the first segment's runs, then the next's. No two share a run. */
  segments: Segment[];
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

export function compileRunQuery(q: RunQuery, small: SetIsSmall): CompiledQuery {
  const parts: Sql[] = [{ sql: q.deleted ? 'r.deleted_time IS NOT NULL' : 'r.deleted_time IS NULL', args: [] }];
  if (q.experiment !== undefined) parts.push({ sql: 'e.name = ?', args: [q.experiment] });
  if (q.status !== undefined) parts.push({ sql: 'r.status = ?', args: [q.status] });
  const asSet = (runId: string): Place => (t) => runSet(t, small, runId);
  const filter = q.filter ? [compileFilter(q.filter, asSet('r.id'))] : [];
  const conjuncts = !q.filter ? [] : q.filter.op === 'and' ? q.filter.args : [q.filter];
  const segments: Segment[] = [];
  for (const s of compileSort(q.sort)) {
    let tests = filter;
    const onKey = q.sort && s.keyed ? conjuncts.filter((c): c is FieldCondition => isOnField(c, q.sort!.field)) : [];
    if (onKey.some((c) => rulesOut(c, q.sort!.field, s.keyed!))) continue;
    if (s.keyed && s.keyed !== 'without') {
      // The segment's runs have the key's row, joined as sk: a condition on the key tests it
      // there, and the others check sk.run_id, so that SQLite checks them before it looks up
      // the run (r.id would have it look up every run the index walk meets first).
      const asRow: Place = (t) => t.test('sk.');
      tests = conjuncts.map((c) => compileFilter(c, onKey.includes(c as FieldCondition) ? asRow : asSet('sk.run_id')));
    }
    const all = join([...parts, ...tests, ...(s.where ? [s.where] : [])], ' AND ');
    segments.push({ join: s.join, where: { sql: `WHERE ${all.sql}`, args: all.args }, orderBy: s.orderBy });
  }
  const where = join([...parts, ...filter], ' AND ');
  return { where: { sql: `WHERE ${where.sql}`, args: where.args }, segments };
}

function join(parts: Sql[], by: string): Sql {
  return { sql: parts.map((p) => p.sql).join(by), args: parts.flatMap((p) => p.args) };
}

/**
 * A condition on a param, tag or metric: the rows of `table` for the field (`keyColumn` = the
 * name) whose value passes `test`. There is one such row per run and field at most.
 */
interface FieldTest {
  table: 'params' | 'tags' | 'series';
  keyColumn: 'key' | 'name';
  name: string;
  /** On a row's columns, named with `prefix` ('' or 'sk.'). */
  test(prefix: string): Sql;
  /** The same or looser, on the columns of the table's (key, value) index alone. */
  probe: Sql;
}

/** How a field's test becomes a condition on the run: through its set, or on the row joined for the sort. */
type Place = (t: FieldTest) => Sql;

function compileFilter(f: Filter, place: Place): Sql {
  switch (f.op) {
    case 'and':
    case 'or': {
      const all = join(
        f.args.map((a) => compileFilter(a, place)),
        f.op === 'and' ? ' AND ' : ' OR ',
      );
      return { sql: `(${all.sql})`, args: all.args };
    }
    case 'not': {
      const arg = compileFilter(f.arg, place);
      return { sql: `(NOT ${arg.sql})`, args: arg.args };
    }
    case 'compare': {
      const l = literal(f.value);
      return condition(f.field, l.kind, place, (column) => ({ sql: `${column} ${SQL_CMP[f.cmp]} ?`, args: [l.value] }));
    }
    case 'like':
      // LIKE in SQLite ignores ASCII case: ILIKE is it; LIKE, which does not, is GLOB.
      return condition(f.field, 'text', place, (column) => {
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
        [...byKind].map(([kind, values]) => condition(f.field, kind, place, (column) => ({ sql: `${column} IN (${values.map(() => '?').join(', ')})`, args: values }))),
        ' OR ',
      );
      return { sql: f.negated ? `(NOT (${any.sql}))` : `(${any.sql})`, args: any.args };
    }
  }
}

/**
 * `test(column)` on the field's value column: an attribute's own column, or, for a param, tag or
 * metric, placed by `place` (the set of runs that have it with a value that passes, or the row).
 */
function condition(field: Field, kind: 'number' | 'text', place: Place, test: (column: string) => Sql): Sql {
  switch (field.kind) {
    case 'attribute': {
      const column = ATTRIBUTE_COLUMNS[field.name];
      const timed = field.name === 'startTime' || field.name === 'endTime';
      // Times compare as ISO text with a string ('2025-01-01'), as epoch seconds with a number.
      return test(timed && kind === 'number' ? epoch(column) : column);
    }
    case 'param': {
      // A number compares with numeric params (num is set for those only, so the index on
      // (key, num) answers alone); a string with any param's text (0.01's is "0.01").
      const column = kind === 'number' ? 'num' : 'text';
      return place({ table: 'params', keyColumn: 'key', name: field.name, test: (p) => test(p + column), probe: test(column) });
    }
    case 'tag':
      return place({ table: 'tags', keyColumn: 'key', name: field.name, test: (p) => test(`${p}value`), probe: test('value') });
    case 'metric': {
      const column = field.agg === 'last' ? 'last_value' : `${field.agg}_value`;
      // The last value may be a string; min and max are of the numbers only. (The probe leaves
      // the kind out: the index has no kind, and a count too high only costs a faster plan.)
      const kindCheck = (p: string) =>
        field.agg !== 'last' ? '' : kind === 'number' ? `${p}last_kind IN (${KIND.integer}, ${KIND.float}) AND ` : `${p}last_kind = ${KIND.string} AND `;
      return place({
        table: 'series',
        keyColumn: 'name',
        name: field.name,
        test: (p) => {
          const t = test(p + column);
          return { sql: `${kindCheck(p)}${t.sql}`, args: t.args };
        },
        probe: test(column),
      });
    }
  }
}

/** `r.id IN (...)`, the set read whole, when it is small; else `EXISTS (...)`, checked per run. Both mean the same. */
function runSet(t: FieldTest, small: SetIsSmall, runId: string): Sql {
  const test = t.test('');
  const where = { sql: `${t.keyColumn} = ? AND ${test.sql}`, args: [t.name, ...test.args] };
  const probe = { sql: `${t.keyColumn} = ? AND ${t.probe.sql}`, args: [t.name, ...t.probe.args] };
  if (small({ table: t.table, probe })) return { sql: `${runId} IN (SELECT run_id FROM ${t.table} WHERE ${where.sql})`, args: where.args };
  return { sql: `EXISTS (SELECT 1 FROM ${t.table} WHERE run_id = ${runId} AND ${where.sql})`, args: where.args };
}

type FieldCondition = Extract<Filter, { field: Field }>;

/**
 * A condition on the sort key's own row (for a metric, any of its aggregates: one series row).
 * Not NOT IN: it holds for runs without the key too, and on a row whose column is NULL its test
 * is NULL where the set's is false, which NOT would not turn into true.
 */
function isOnField(c: Filter, key: Field): boolean {
  if (c.op !== 'compare' && c.op !== 'like' && !(c.op === 'in' && !c.negated)) return false;
  return c.field.kind === key.kind && c.field.kind !== 'attribute' && c.field.name === key.name;
}

/**
 * Whether condition `c`, on the sort key, holds for no run of the segment: of the runs without the
 * key (each needs the key's row, and a metric's a value in the column sorted by), or, for a param,
 * of those with text where a comparison with a number needs a number.
 */
function rulesOut(c: FieldCondition, key: Field, segment: Keyed): boolean {
  if (segment === 'without') return key.kind !== 'metric' || (c.field.kind === 'metric' && c.field.agg === key.agg);
  return segment === 'text' && c.op === 'compare' && typeof c.value === 'number';
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

/** Which runs a sort segment holds: all, those with the key (a param's as numbers or as text), or those without. */
type Keyed = 'with' | 'number' | 'text' | 'without';

/** A segment before the query's own conditions are added to its `where`. */
interface SortSegment {
  join: Sql;
  where?: Sql;
  orderBy: string;
  /** For a sort on a param, tag or metric: which of its runs. */
  keyed?: Keyed;
}

const NO_JOIN: Sql = { sql: '', args: [] };

/**
 * The sort as segments: the runs with the key, by its value through the key's index (numeric
 * params by number, then the others by their text), then the runs without it; within a value,
 * and for runs without a key, newest first. An attribute or the default order is one segment.
 */
function compileSort(sort: SortKey | undefined): SortSegment[] {
  const tail = 'r.start_time DESC, r.rowid DESC';
  if (!sort) return [{ join: NO_JOIN, orderBy: `ORDER BY ${tail}` }];
  const dir = sort.descending ? 'DESC' : 'ASC';
  const f = sort.field;
  const without = (sql: string, args: unknown[]): SortSegment => ({ join: NO_JOIN, where: { sql: `NOT EXISTS (${sql})`, args }, orderBy: `ORDER BY ${tail}`, keyed: 'without' });
  switch (f.kind) {
    case 'attribute': {
      const column = ATTRIBUTE_COLUMNS[f.name];
      return [{ join: NO_JOIN, orderBy: `ORDER BY (${column} IS NULL), ${column} ${dir}, ${tail}` }];
    }
    case 'param':
      return [
        {
          join: { sql: 'JOIN params sk ON sk.run_id = r.id AND sk.key = ? AND sk.num IS NOT NULL', args: [f.name] },
          orderBy: `ORDER BY sk.num ${dir}, sk.text ${dir}, ${tail}`,
          keyed: 'number',
        },
        { join: { sql: 'JOIN params sk ON sk.run_id = r.id AND sk.key = ? AND sk.num IS NULL', args: [f.name] }, orderBy: `ORDER BY sk.text ${dir}, ${tail}`, keyed: 'text' },
        without('SELECT 1 FROM params WHERE run_id = r.id AND key = ?', [f.name]),
      ];
    case 'tag':
      return [
        { join: { sql: 'JOIN tags sk ON sk.run_id = r.id AND sk.key = ?', args: [f.name] }, orderBy: `ORDER BY sk.value ${dir}, ${tail}`, keyed: 'with' },
        without('SELECT 1 FROM tags WHERE run_id = r.id AND key = ?', [f.name]),
      ];
    case 'metric': {
      // A series without numbers has no min or max: for those, its run is one without the key.
      const column = f.agg === 'last' ? 'last_value' : `${f.agg}_value`;
      return [
        {
          join: { sql: `JOIN series sk ON sk.run_id = r.id AND sk.name = ? AND sk.${column} IS NOT NULL`, args: [f.name] },
          orderBy: `ORDER BY sk.${column} ${dir}, ${tail}`,
          keyed: 'with',
        },
        without(`SELECT 1 FROM series WHERE run_id = r.id AND name = ? AND ${column} IS NOT NULL`, [f.name]),
      ];
    }
  }
}
