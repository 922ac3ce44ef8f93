/** Where the Python helper (the outpost_logger package, with its pyproject.toml) lives in the installed package. */
import fs from 'fs';
import path from 'path';

/** <package root>/src/client/python; found by walking up to package.json, so it works from src/ and dist/src/. */
export function pythonHelperDir(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'src', 'client', 'python');
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the outpost package root above ${__dirname}`);
    dir = parent;
  }
}
