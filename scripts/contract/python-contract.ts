/**
 * The Python helper's contract file (src/client/python/outpost_logger/_contract.py): the limits,
 * defaults, names and formats it shares with the TypeScript side, made from their one source each
 * (config/ through its loaded defaults, src/run-folder/layout.ts, the run-folder formats).
 * `npm run generate` rewrites it; a test fails when the file and the sources disagree.
 */
import fs from 'fs';
import path from 'path';
import { defaults } from '../../config';
import { PLAIN_ARG } from '../../src/agent/run-facts';
import {
  ACK_SUFFIX,
  AGENT_FILE,
  DEFAULT_EXPERIMENT,
  ENV,
  EXIT_FILE,
  FILES_STATE_FILE,
  FILES_STATE_VERSION,
  OUTPOST_DIR,
  RUN_FILE,
  RUNS_DIR,
  SPOOL_FILE,
  UPLOAD_TEMP_PREFIX,
} from '../../src/run-folder';
import { repoRoot } from '../docs/tables';

export const CONTRACT_FILE = 'src/client/python/outpost_logger/_contract.py';

export type PythonValue = number | string | boolean | { seconds: number };

/** One constant of the contract: its Python name and value, where the value comes from (when not the section's), what it is. */
export interface ContractEntry {
  name: string;
  value: PythonValue;
  source: string;
  doc: string;
}

export interface ContractSection {
  title: string;
  entries: ContractEntry[];
}

/** `key: value, // comment` in a defaults object: the comment is the setting's documentation. */
function commentOf(source: string, key: string): string {
  const m = new RegExp(`^\\s*${key}: .*?, // (.*)$`, 'm').exec(source);
  if (!m) throw new Error(`${key} has no "// unit: what it does" comment in its defaults object`);
  return m[1].trim();
}

/** Every section of the contract, values read from the TypeScript side as it is loaded now. */
export function contractSections(root = repoRoot()): ContractSection[] {
  const limitsTs = fs.readFileSync(path.join(root, 'config/limits.ts'), 'utf8');
  const clientTs = fs.readFileSync(path.join(root, 'config/client.ts'), 'utf8');
  const { limits, client } = defaults;
  const limit = (name: string, key: keyof typeof limits): ContractEntry => ({ name, value: limits[key], source: `limits.${key}`, doc: commentOf(limitsTs, key) });
  const setting = (name: string, key: keyof typeof client, value: PythonValue = client[key]): ContractEntry => ({ name, value, source: `client.${key}`, doc: commentOf(clientTs, key) });
  const env = (name: string, key: keyof typeof ENV, doc: string): ContractEntry => ({ name, value: ENV[key], source: `ENV.${key}`, doc });
  const layout = (name: string, value: string, doc: string): ContractEntry => ({ name, value, source: '', doc });
  // The TypeScript settings in ms are seconds in Python (time.time(), Event.wait() take seconds).
  const seconds = (key: 'flushIntervalMs' | 'spoolCheckMs' | 'waitTimeoutMs') => ({ seconds: client[key] / 1000 });
  return [
    {
      title: 'The limits the service holds lines and files to (config/limits.ts)',
      entries: [
        limit('MAX_LINE_BYTES', 'maxLineBytes'),
        limit('MAX_NAME_CHARS', 'maxNameChars'),
        limit('MAX_METRICS_PER_LINE', 'maxMetricsPerLine'),
        limit('MAX_FILE_BYTES', 'maxFileBytes'),
        limit('MAX_PATH_CHARS', 'maxArtifactPathChars'),
      ],
    },
    {
      title: "The loggers' defaults (config/client.ts)",
      entries: [
        setting('FLUSH_INTERVAL_S', 'flushIntervalMs', seconds('flushIntervalMs')),
        setting('FLUSH_MAX_BYTES', 'flushMaxBytes'),
        setting('SPOOL_CHECK_S', 'spoolCheckMs', seconds('spoolCheckMs')),
        setting('MAX_HELD_BYTES', 'maxHeldBytes'),
        setting('WAIT_TIMEOUT_S', 'waitTimeoutMs', seconds('waitTimeoutMs')),
        setting('STRICT_WAIT', 'strictWait'),
      ],
    },
    {
      title: 'The environment of a run (src/run-folder/layout.ts, ENV)',
      entries: [
        env('ENV_RUN_ID', 'runId', 'the run, set by `outpost run`'),
        env('ENV_METRICS_FILE', 'metricsFile', 'the spool to append to; unset: not under `outpost run`'),
        env('ENV_OUTPUTS_DIR', 'outputsDir', 'the folder upload() writes into'),
        env('ENV_SERVER', 'server', 'the history service, when one is used'),
        env('ENV_STRICT_WAIT', 'strictWait', '1: wait() raises on timeout even while a live agent owns the run'),
      ],
    },
    {
      title: 'The run folder: <project>/.outpost/runs/<run>/ (src/run-folder/layout.ts)',
      entries: [
        layout('OUTPOST_DIR', OUTPOST_DIR, "the project's outpost folder"),
        layout('RUNS_DIR', RUNS_DIR, 'the run folders, inside it'),
        layout('SPOOL_FILE', SPOOL_FILE, 'the spool, in a run folder'),
        layout('ACK_SUFFIX', ACK_SUFFIX, "the ack watermark: the spool's name plus this"),
        layout('RUN_FILE', RUN_FILE, 'what the run is (id, outputs folder, facts)'),
        layout('AGENT_FILE', AGENT_FILE, "the live agent's pid, while one works on the run"),
        layout('FILES_STATE_FILE', FILES_STATE_FILE, 'outputs/ state: what was uploaded, or was there before the run'),
        layout('EXIT_FILE', EXIT_FILE, 'how the run ended, for `outpost sync`'),
        layout('UPLOAD_TEMP_PREFIX', UPLOAD_TEMP_PREFIX, 'half-written upload() files; the agent never uploads them'),
        layout('DEFAULT_EXPERIMENT', DEFAULT_EXPERIMENT, 'the experiment of a run that names none'),
      ],
    },
    {
      title: 'Formats of the files written for an offline run',
      entries: [
        { name: 'FILES_STATE_VERSION', value: FILES_STATE_VERSION, source: 'src/run-folder/files-state.ts', doc: 'the format of files.json' },
        {
          name: 'PLAIN_ARG',
          value: PLAIN_ARG.source.replace(/^\^/, '').replace(/\$$/, ''),
          source: 'src/agent/run-facts.ts',
          doc: "run.json's command: an argument shown as it is; any other is single-quoted",
        },
      ],
    },
  ];
}

/** A value as Python source: ints stay ints, seconds are floats, strings are JSON (a valid Python literal). */
export function pythonLiteral(value: PythonValue): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`${value} is not an integer; give it in seconds or as an integer`);
    return String(value);
  }
  const s = String(value.seconds);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

export function renderContract(root = repoRoot()): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const out = [
    '"""The limits, defaults, names and formats the helper shares with outpost\'s TypeScript side.',
    '',
    'Generated by scripts/contract/python-contract.ts from config/limits.ts, config/client.ts and',
    'src/run-folder (`npm run generate`): do not edit it by hand; a test fails when it and they disagree.',
    'The helper reads each of these values from here only.',
    '"""',
    '',
    `VERSION = ${JSON.stringify(pkg.version)}  # package.json: the helper is released with outpost`,
  ];
  for (const section of contractSections(root)) {
    out.push('', `# ${section.title}`);
    for (const e of section.entries) out.push(`${e.name} = ${pythonLiteral(e.value)}  # ${e.source ? `${e.source}: ` : ''}${e.doc}`);
  }
  return `${out.join('\n')}\n`;
}

if (require.main === module) {
  const root = repoRoot();
  const file = path.join(root, CONTRACT_FILE);
  const next = renderContract(root);
  const now = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (next !== now) {
      process.stderr.write(`${CONTRACT_FILE} is out of date with config/ or src/run-folder: run npm run generate\n`);
      process.exit(1);
    }
  } else if (next !== now) {
    fs.writeFileSync(file, next);
    process.stderr.write(`${CONTRACT_FILE}: rewritten\n`);
  }
}
