/** files.json (and log-files.json): what of a synced folder was uploaded, so a restarted agent does not send it again. */
import { readJsonFile, writeFileAtomic } from './atomic-file';

export interface FileStat {
  size: number;
  mtimeMs: number;
}

/** preexisting: in the folder before the run began (an earlier run's); refused: the service will never take it. */
export type FileState = FileStat & { state: 'uploaded' | 'preexisting' | 'refused'; sha256?: string };

/** The format of files.json (the Python helper writes one for an offline run). */
export const FILES_STATE_VERSION = 1;

export interface FilesStateFile {
  version: typeof FILES_STATE_VERSION;
  files: Record<string, FileState>;
}

export async function readFilesState(file: string): Promise<Map<string, FileState> | null> {
  const saved = await readJsonFile<FilesStateFile>(file);
  return saved ? new Map(Object.entries(saved.files)) : null;
}

export async function writeFilesState(file: string, files: Map<string, FileState>): Promise<void> {
  const out: FilesStateFile = { version: FILES_STATE_VERSION, files: Object.fromEntries(files) };
  await writeFileAtomic(file, JSON.stringify(out));
}
