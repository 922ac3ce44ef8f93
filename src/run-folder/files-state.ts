/** files.json (and log-files.json): what of a synced folder was uploaded, so a restarted agent does not send it again. */
import { readJsonFile, writeFileAtomic } from './atomic-file';

export interface FileStat {
  size: number;
  mtimeMs: number;
}

/** preexisting: in the folder before the run began (an earlier run's); refused: the service will never take it. */
export type FileState = FileStat & { state: 'uploaded' | 'preexisting' | 'refused'; sha256?: string };

export interface FilesStateFile {
  version: 1;
  files: Record<string, FileState>;
}

export async function readFilesState(file: string): Promise<Map<string, FileState> | null> {
  const saved = await readJsonFile<FilesStateFile>(file);
  return saved ? new Map(Object.entries(saved.files)) : null;
}

export async function writeFilesState(file: string, files: Map<string, FileState>): Promise<void> {
  const out: FilesStateFile = { version: 1, files: Object.fromEntries(files) };
  await writeFileAtomic(file, JSON.stringify(out));
}
