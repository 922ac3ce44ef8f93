/** `outpost python-path`: the folder holding outpost_logger.py, for PYTHONPATH. */
import type { Command } from 'commander';
import { pythonHelperDir } from '../client/python-path';

export function registerPythonPathCommand(program: Command): void {
  program
    .command('python-path')
    .description('print the folder of the Python helper (outpost_logger.py), e.g. PYTHONPATH="$(outpost python-path)" python train.py')
    .action(() => {
      process.stdout.write(`${pythonHelperDir()}\n`);
    });
}
