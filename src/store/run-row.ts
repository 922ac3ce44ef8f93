/** A run as both stores' SQL reads it: the same columns, named alike; only git_dirty's type is each database's own. */
import type { RunStatus, RunSummary } from '../protocol';

export interface RunRow<Dirty> {
  id: string;
  experiment: string;
  name: string;
  status: RunStatus;
  exit_code: number | null;
  start_time: string;
  end_time: string | null;
  command: string | null;
  cwd: string | null;
  host: string | null;
  git_commit: string | null;
  git_dirty: Dirty | null;
  rejected_lines: number;
  note: string | null;
  deleted_time: string | null;
}

/** The columns of RunRow, from `runs r` joined to `experiments e`. */
export const RUN_COLUMNS = `r.id, e.name AS experiment, r.name, r.status, r.exit_code, r.start_time, r.end_time, r.command,
  r.cwd, r.host, r.git_commit, r.git_dirty, r.rejected_lines, r.note, r.deleted_time`;

/** What a list of runs gives of each: the row's summary columns and the run's params and tags. */
export function summaryOf(
  row: Pick<RunRow<unknown>, 'id' | 'experiment' | 'name' | 'status' | 'start_time' | 'end_time' | 'deleted_time'>,
  meta: Pick<RunSummary, 'params' | 'tags'>,
): RunSummary {
  return {
    id: row.id,
    experiment: row.experiment,
    name: row.name,
    status: row.status,
    startTime: row.start_time,
    endTime: row.end_time,
    params: meta.params,
    tags: meta.tags,
    deleted: row.deleted_time !== null,
  };
}
