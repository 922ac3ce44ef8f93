/** `outpost python-path`: the folder of the Python helper's package, for pip install or PYTHONPATH. */
import type { Command } from 'commander';
import { pythonHelperDir } from '../client/python-path';

export function registerPythonPathCommand(program: Command): void {
  program
    .command('python-path')
    .description('print the folder of the Python helper (the outpost_logger package): pip install "$(outpost python-path)", or PYTHONPATH="$(outpost python-path)" python train.py')
    .action(() => {
      process.stdout.write(`${pythonHelperDir()}\n`);
    });
}
