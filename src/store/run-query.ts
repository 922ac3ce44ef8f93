/**
 * A query over runs, as the Store takes it: a filter tree and a sort key (parsed by the service
 * from the MLflow-style expression of `history list --filter`, src/service/run-filter.ts), done by
 * the store itself (in SQL, with indexes), never by loading runs into the process.
 */
import type { RunStatus } from '../protocol';

export const ATTRIBUTES = ['id', 'name', 'experiment', 'status', 'startTime', 'endTime', 'duration'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

/** What a condition or a sort looks at. A metric is looked at by its last value, its least or its greatest. */
export type Field =
  | { kind: 'param'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'metric'; name: string; agg: 'last' | 'min' | 'max' }
  | { kind: 'attribute'; name: Attribute };

export type Literal = number | string | boolean;
export type Comparison = '=' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * A condition on a param, tag or metric holds only for runs that have it: `params.lr != 0.01` is
 * the runs with another lr, and `not params.lr = 0.01` those without lr too.
 */
export type Filter =
  | { op: 'and' | 'or'; args: Filter[] }
  | { op: 'not'; arg: Filter }
  | { op: 'compare'; field: Field; cmp: Comparison; value: Literal }
  | { op: 'like'; field: Field; pattern: string; caseInsensitive: boolean; negated: boolean }
  | { op: 'in'; field: Field; values: Literal[]; negated: boolean };

export interface SortKey {
  field: Field;
  descending: boolean;
}

export interface RunQuery {
  filter?: Filter;
  /** Default: newest first. Runs without the sort key come last, whichever the direction. */
  sort?: SortKey;
  experiment?: string;
  status?: RunStatus;
  /** true: only deleted runs; default: only runs that are not. */
  deleted?: boolean;
  limit?: number;
  offset?: number;
}
