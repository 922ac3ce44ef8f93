/**
 * The run folder's layout: names, formats and the environment of a run, shared by the agent, the
 * CLI, the loggers (the Python helper's copy is generated from here: _contract.py) and the page.
 * Plain constants and types: the page bundles it.
 *
 * The files a run leaves on disk:
 *   <dir>/.outpost/runs/<run>/metrics.jsonl       the spool (producers append)
 *   <dir>/.outpost/runs/<run>/metrics.jsonl.ack   the ack watermark (the agent writes)
 *   <dir>/.outpost/runs/<run>/run.json            what the run is (id, server, outputs folder)
 *   <dir>/.outpost/runs/<run>/agent.json          the live agent's pid (removed when it exits)
 *   <dir>/.outpost/runs/<run>/checkpoint.json     spool offsets acknowledged by the service
 *   <dir>/.outpost/runs/<run>/files.json          outputs/ state: what was uploaded
 *   <dir>/.outpost/runs/<run>/sources.json        positions acknowledged in the metric sources of outputs/ (event files, CSV logs...)
 *   <dir>/.outpost/runs/<run>/files.uploads.json  big files' resumable uploads: how far each got
 *   <dir>/.outpost/runs/<run>/exit.json, final.json how the run ended; that the service knows it
 */
export const OUTPOST_DIR = '.outpost';
export const RUNS_DIR = 'runs';
export const SPOOL_FILE = 'metrics.jsonl';
export const ACK_SUFFIX = '.ack';
export const RUN_FILE = 'run.json';
export const AGENT_FILE = 'agent.json';
export const CHECKPOINT_FILE = 'checkpoint.json';
export const FILES_STATE_FILE = 'files.json';
export const SOURCES_FILE = 'sources.json';
export const LOG_ARTIFACT = 'logs/run.log';
/** exit.json: how the run's command ended, written before the final sync (for `outpost sync`). */
export const EXIT_FILE = 'exit.json';
/** final.json: the run's final status reached the service; nothing is left to mark. */
export const FINAL_FILE = 'final.json';
/** Temp files of atomic writes into outputs/ (the loggers' upload()); the agent never uploads them. */
export const UPLOAD_TEMP_PREFIX = '.outpost-tmp-';
/** The experiment of a run that names none (`outpost run` without --experiment, a logger outside `outpost run`). */
export const DEFAULT_EXPERIMENT = 'default';

/**
 * The ack watermark, rewritten atomically after every acknowledgement: every line of the spool
 * file with inode `ino` that ends at or before byte `offset` is stored by the service (or was
 * rejected and recorded as such). A writer waits for its line by comparing its end offset.
 */
export interface AckWatermark {
  stream: string;
  ino: number;
  offset: number;
  line: number;
  time: string;
}

/** run.json: written once when the run is set up. */
export interface RunFolderInfo {
  id: string;
  experiment: string;
  name: string;
  server: string | null;
  outputsDir: string;
  /**
   * The folder outputsDir must resolve inside, however it is linked: the project folder for the
   * default <dir>/outputs, or the folder itself (where it led then) when it was named explicitly.
   * Absent in older run folders: the parent of outputsDir.
   */
  outputsAllowedIn?: string;
  metricsFile: string;
  createdTime: string;
  /**
   * Where the run came from, as registered when it started, so that a later `outpost sync` (an
   * offline run, or a run made while its service was down) records the same facts.
   */
  facts?: RunFacts;
}

/** The facts of a run that its registration carries (a subset of RunUpsert). */
export interface RunFacts {
  startTime?: string;
  command?: string;
  cwd?: string;
  host?: string;
  gitCommit?: string | null;
  gitDirty?: boolean | null;
  note?: string;
}

/**
 * agent.json: present while an agent works on the run. In local mode `server` is the in-process
 * service on a loopback port and `token` its bearer token (the file is readable by its owner only).
 */
export interface AgentPresence {
  pid: number;
  server: string;
  token?: string;
  startedTime: string;
}

/** Environment handed to the training process (the first four), and read by every outpost command (and the loggers). */
export const ENV = {
  runId: 'OUTPOST_RUN_ID',
  metricsFile: 'OUTPOST_METRICS_FILE',
  outputsDir: 'OUTPOST_OUTPUTS_DIR',
  server: 'OUTPOST_SERVER',
  /** The bearer token sent to the service (and required by `outpost server` when set). */
  token: 'OUTPOST_TOKEN',
  /** `outpost server`'s database and blob store, as --db and --blobs take them. */
  db: 'OUTPOST_DB',
  blobs: 'OUTPOST_BLOBS',
  /** 1 (or true, yes, on): the loggers' wait() raises on timeout even while a live agent owns the run. */
  strictWait: 'OUTPOST_STRICT_WAIT',
} as const;
