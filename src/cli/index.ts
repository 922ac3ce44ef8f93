/** The `outpost` command: parse, call, print. Exit codes: 0 ok, 1 not found or refused, 2 usage. */
import { Command, CommanderError } from 'commander';
import { describeError, EXIT_USAGE } from './exit-codes';
import { registerServerCommands } from './server-command';
import { registerHistoryCommands } from './history-command';
import { registerAssetsCommands } from './assets-command';
import { registerPythonPathCommand } from './python-path-command';
import { registerRunCommand } from './run-command';
import { registerAgentCommand } from './agent-command';
import { registerSyncCommand } from './sync-command';
import { registerDbCommands } from './db-command';

const program = new Command('outpost')
  .description('run history for machine-learning training: metrics and outputs/ synced exactly once')
  .version(require('../../../package.json').version)
  .enablePositionalOptions()
  .showHelpAfterError('(add --help for usage)')
  // Every error line starts the same way: `outpost: <message>` (commander's own say `error:`).
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'outpost: ')) })
  .exitOverride();

registerRunCommand(program);
registerAgentCommand(program);
registerSyncCommand(program);
registerServerCommands(program);
registerHistoryCommands(program);
registerAssetsCommands(program);
registerPythonPathCommand(program);
registerDbCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // help and --version end here too, with exit code 0
    process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  const { message, exitCode } = describeError(err);
  process.stderr.write(`outpost: ${message}\n${exitCode === EXIT_USAGE ? '(add --help for usage)\n' : ''}`);
  process.exit(exitCode);
});
