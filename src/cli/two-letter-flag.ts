/**
 * `history promote -ap PREFIX` keeps the Workbench spelling (`az ml history promote -ap`), but
 * commander's short flags are one letter: a command's own arguments are rewritten before
 * commander reads them, `-ap X` and `-ap=X` becoming `--artifact-prefix X`.
 */
import type { Command } from 'commander';

export function expandTwoLetterFlag(args: readonly string[], short: string, long: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg === short) out.push(long);
    else if (arg.startsWith(`${short}=`)) out.push(`${long}=${arg.slice(short.length + 1)}`);
    else out.push(arg);
  }
  return out;
}

/** Makes `cmd` accept `short` as another spelling of its option `long`. */
export function acceptTwoLetterFlag(cmd: Command, short: string, long: string): Command {
  const parse = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args: string[]) => parse(expandTwoLetterFlag(args, short, long));
  return cmd;
}
