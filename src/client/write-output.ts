/** upload(): a file into outputs/, written whole (temp file, fsync, rename) so the agent never sees half of it. */
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { settings } from '../../config';
import { artifactPathProblem, E } from '../protocol';
import { UPLOAD_TEMP_PREFIX } from '../run-folder';

/**
 * Temp files start with this prefix, in the destination's folder (rename stays on one
 * filesystem). They live for one write; the agent's outputs watcher should skip them.
 */
export { UPLOAD_TEMP_PREFIX };

/** Writes `content` to <outputsDir>/<artifactPath>; returns the file written. */
export function writeOutput(outputsDir: string, artifactPath: string, content: string | Uint8Array): string {
  const problem = artifactPathProblem(artifactPath, settings.limits.maxArtifactPathChars);
  if (problem) throw E.cannotUploadPath(artifactPath, problem);
  if (typeof content !== 'string' && !(content instanceof Uint8Array)) {
    throw E.uploadContent(artifactPath);
  }
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  if (size > settings.limits.maxFileBytes) {
    throw E.uploadTooLarge(artifactPath, size, settings.limits.maxFileBytes);
  }
  const dest = path.join(outputsDir, ...artifactPath.split('/'));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const temp = path.join(path.dirname(dest), `${UPLOAD_TEMP_PREFIX}${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  try {
    const fd = fs.openSync(temp, 'wx');
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, dest);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  return dest;
}
