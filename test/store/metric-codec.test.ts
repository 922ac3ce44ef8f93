/** The kind tags are on disk (points.kind, series.last_kind): each value type keeps its number, and comes back as itself. */
import Database from 'better-sqlite3';
import { decodeValue, encodeValue, KIND } from '../../src/store/metric-codec';

test('the kind numbers stores were written with', () => {
  expect(KIND).toEqual({ integer: 0, float: 1, string: 2, boolean: 3, list: 4 });
});

test('each type goes through a SQLite column of no affinity and comes back as it was', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (kind INTEGER NOT NULL, value)');
  const values = [7, -0.5, 'a string', true, false, [1, 2.5, -3], 2 ** 53 - 1];
  for (const v of values) db.prepare('INSERT INTO t VALUES (?, ?)').run(...encodeValue(v));
  const rows = db.prepare('SELECT kind, value FROM t').raw().all() as [number, unknown][];
  expect(rows.map(([kind]) => kind)).toEqual([KIND.integer, KIND.float, KIND.string, KIND.boolean, KIND.boolean, KIND.list, KIND.integer]);
  expect(rows.map(([kind, value]) => decodeValue(kind, value))).toEqual(values);
  db.close();
});
