/** Is an agent working on this run? agent.json names its pid while it runs (removed when it exits). */
import fs from 'fs';
import path from 'path';
import { AGENT_FILE, AgentPresence, isProcessAlive } from '../protocol';

export type AgentStatus =
  | { running: true; pid: number; server: string }
  | { running: false; why: string };

/** The first of `runDirs` holding agent.json decides (`outpost agent --metrics FILE` keeps it in .outpost/runs/<run>, not beside FILE). */
export function agentStatus(runDirs: string[]): AgentStatus {
  const dir = runDirs.find((d) => fs.existsSync(path.join(d, AGENT_FILE))) ?? runDirs[0];
  const file = path.join(dir, AGENT_FILE);
  let presence: AgentPresence;
  try {
    presence = JSON.parse(fs.readFileSync(file, 'utf8')) as AgentPresence;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { running: false, why: code === 'ENOENT' ? `no ${file}` : `${file} is unreadable (${(err as Error).message})` };
  }
  if (!Number.isInteger(presence?.pid) || presence.pid <= 0) return { running: false, why: `${file} names no pid` };
  // Not String(server): any file may be there, and a deeply nested array would recurse.
  const server = typeof presence.server === 'string' ? presence.server : 'unknown';
  return isProcessAlive(presence.pid)
    ? { running: true, pid: presence.pid, server }
    : { running: false, why: `${file} names pid ${presence.pid}, which has exited (killed?)` };
}
