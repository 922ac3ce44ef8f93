/** agent.json: present while an agent works on a run, naming its pid (and in local mode its service's token). */
import fs, { promises as fsp } from 'fs';
import path from 'path';
import { readJsonFile, writeFileAtomic } from './atomic-file';
import { AGENT_FILE, AgentPresence } from './layout';
import { isProcessAlive } from './project-dir';

/** Written as the agent starts, readable by its owner only (it may hold a token). */
export async function writePresence(runDir: string, presence: AgentPresence): Promise<void> {
  await fsp.mkdir(runDir, { recursive: true });
  await writeFileAtomic(path.join(runDir, AGENT_FILE), JSON.stringify(presence), 0o600);
}

export async function removePresence(runDir: string): Promise<void> {
  await fsp.rm(path.join(runDir, AGENT_FILE), { force: true });
}

/** The live agent of a run folder, or null (none, or its process has exited). */
export async function liveAgent(runDir: string): Promise<AgentPresence | null> {
  const presence = await readJsonFile<AgentPresence>(path.join(runDir, AGENT_FILE)).catch(() => null);
  return presence && Number.isInteger(presence.pid) && presence.pid !== process.pid && isProcessAlive(presence.pid) ? presence : null;
}

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
