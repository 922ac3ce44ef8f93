/**
 * files.uploads.json (and log-files.uploads.json): where each big file's resumable upload stands,
 * so that an agent killed mid-upload, or restarted, asks the service how far it got and sends only
 * the rest. Rewritten atomically after every chunk the service acknowledges.
 */
import { readJsonFile, writeFileAtomic } from './atomic-file';

export interface UploadProgress {
  uploadId: string;
  /** The file as it was when the upload was opened: another size or mtime means it changed, and the upload starts over. */
  size: number;
  mtimeMs: number;
  chunkBytes: number;
  /** Bytes the service has acknowledged (whole chunks from the start). */
  acked: number;
  /** The whole file's sha256, once known. */
  sha256: string | null;
}

export const UPLOADS_STATE_VERSION = 1;

interface UploadsStateFile {
  version: typeof UPLOADS_STATE_VERSION;
  uploads: Record<string, UploadProgress>;
}

/** The uploads file beside a synced folder's state file: files.json -> files.uploads.json. */
export function uploadsStateFileFor(filesStateFile: string): string {
  return filesStateFile.replace(/(\.json)?$/, '.uploads.json');
}

export async function readUploadsState(file: string): Promise<Map<string, UploadProgress>> {
  const saved = await readJsonFile<UploadsStateFile>(file);
  return new Map(Object.entries(saved?.uploads ?? {}));
}

export async function writeUploadsState(file: string, uploads: Map<string, UploadProgress>): Promise<void> {
  const out: UploadsStateFile = { version: UPLOADS_STATE_VERSION, uploads: Object.fromEntries(uploads) };
  await writeFileAtomic(file, JSON.stringify(out));
}
