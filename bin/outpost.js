#!/usr/bin/env node
try {
  require('../dist/src/cli/index.js');
} catch (err) {
  // Settings are read as the CLI loads (a bad OUTPOST_CONFIG, say): one line, not a stack.
  process.stderr.write(`outpost: ${err && err.message ? err.message : err}\n`);
  process.exit(err && err.code === 'MODULE_NOT_FOUND' ? 1 : 2);
}
