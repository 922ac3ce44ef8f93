/**
 * Runs found and counted for a RunQuery over SQLite: the query compiled (sqlite-run-query.ts) with
 * each condition's set sized by counting its first rows, a page read segment after segment of the
 * sort, and counts kept until the store changes.
 */
import type Database from 'better-sqlite3';
import { ChangeCache } from './sqlite-change-cache';
import { compileRunQuery, type CompiledQuery, type RunSet, type Segment, type Sql } from './sqlite-run-query';
import type { RunQuery } from './run-query';

export interface RunListSettings {
  /** Runs: a condition's set with fewer is read whole (service.runFilterSetRuns). */
  setRuns: number;
  /** Counts kept until the store changes, and as many sizes of sets (service.runCountCacheEntries). */
  countCacheEntries: number;
}

// Every run has its experiment (a foreign key): as a LEFT JOIN, SQLite leaves the join out of a
// query that does not look at e, such as most counts.
const FROM = 'FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id';

export class SqliteRunList {
  private readonly counts: ChangeCache<number>;
  private readonly sizes: ChangeCache<boolean>;

  constructor(
    private readonly db: Database.Database,
    /** The columns of runs r and experiments e that a page gives. */
    private readonly columns: string,
    private readonly settings: RunListSettings,
  ) {
    this.counts = new ChangeCache(db, settings.countCacheEntries);
    this.sizes = new ChangeCache(db, settings.countCacheEntries);
  }

  private compile(query: RunQuery): CompiledQuery {
    return compileRunQuery(query, (set) => this.isSmall(set));
  }

  /** Fewer than setRuns rows in the set: counted through its index, stopping there (and remembered as counts are). */
  private isSmall(set: RunSet): boolean {
    const n = this.settings.setRuns;
    const sql = `SELECT count(*) FROM (SELECT 1 FROM ${set.table} WHERE ${set.probe.sql} LIMIT ?)`;
    return this.sizes.get(JSON.stringify([sql, set.probe.args]), () => (this.db.prepare(sql).pluck().get(...set.probe.args, n) as number) < n);
  }

  /**
   * The page: each segment gives what it has from where the page starts in it, until the page is
   * full. A segment that ends before the page starts is counted, to know where the next begins.
   */
  list<Row>(query: RunQuery): Row[] {
    const { segments } = this.compile(query);
    let offset = query.offset ?? 0;
    let left = query.limit ?? Infinity;
    const rows: Row[] = [];
    for (const [i, segment] of segments.entries()) {
      if (left <= 0) break;
      const page = this.page(segment, left, offset);
      const got = this.db.prepare(page.sql).all(...page.args) as Row[];
      rows.push(...got);
      left -= got.length;
      if (got.length > 0) {
        // The page started in this segment: it goes on from the next one's first run.
        offset = 0;
      } else if (offset > 0 && i < segments.length - 1) {
        const { limit: _l, offset: _o, ...selects } = query;
        offset = Math.max(0, offset - this.cachedCount({ ...selects, segment: i }, segment));
      }
    }
    return rows;
  }

  /** SQLite's plan of each segment's page (EXPLAIN QUERY PLAN, a line a step): why a filter is slow. */
  explain(query: RunQuery): string[][] {
    return this.compile(query).segments.map((segment) => {
      const page = this.page(segment, query.limit ?? Infinity, query.offset ?? 0);
      return (this.db.prepare(`EXPLAIN QUERY PLAN ${page.sql}`).all(...page.args) as { detail: string }[]).map((r) => r.detail);
    });
  }

  /**
   * Prepared each time, not kept: a filter's shape is the user's to choose, and preparing costs
   * a few hundredths of a millisecond beside the query's tenths.
   */
  private page(segment: Segment, limit: number, offset: number): Sql {
    return {
      sql: `SELECT ${this.columns} ${FROM} ${segment.join.sql} ${segment.where.sql} ${segment.orderBy} LIMIT ? OFFSET ?`,
      args: [...segment.join.args, ...segment.where.args, Number.isFinite(limit) ? limit : -1, offset],
    };
  }

  count(query: RunQuery): number {
    const { limit: _l, offset: _o, sort: _s, ...selects } = query;
    // Keyed by the query, not its SQL: a count remembered costs no compiling either. Every set
    // read whole: a count reads every run selected anyway, so it had better start from a set.
    return this.cachedCount(selects, () => compileRunQuery(selects, () => true).where);
  }

  private cachedCount(key: object, part: Segment | (() => Sql)): number {
    return this.counts.get(JSON.stringify(key), () => {
      const { join, where } = typeof part === 'function' ? { join: NO_ARGS, where: part() } : part;
      return this.db
        .prepare(`SELECT count(*) ${FROM} ${join.sql} ${where.sql}`)
        .pluck()
        .get(...join.args, ...where.args) as number;
    });
  }
}

const NO_ARGS: Sql = { sql: '', args: [] };
