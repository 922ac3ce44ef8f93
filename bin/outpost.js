#!/usr/bin/env node
try {
  require('../dist/src/cli/index.js');
} catch (err) {
  // Settings are read as the CLI loads (a bad OUTPOST_CONFIG, say): one line, with its code, not a stack.
  const code = err && typeof err.code === 'string' && err.code.startsWith('OUTPOST_ERR_') ? ` (${err.code})` : '';
  process.stderr.write(`outpost: ${err && err.message ? err.message : err}${code}\n`);
  process.exit(err && err.code === 'MODULE_NOT_FOUND' ? 1 : 2);
}
