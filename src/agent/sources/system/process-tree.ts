/**
 * The job's process tree (the command `outpost run` started, and everything it started): CPU %
 * (of one core: 250 is two and a half cores busy) and RSS, summed over the tree. On Linux read
 * from /proc, children found through /proc/<pid>/task/<tid>/children (no walk over every
 * process); elsewhere pidtree (which spawns ps) and pidusage.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import pidusage from 'pidusage';
import { HAS_PROC, parseProcStat, ProcStat, readText } from './proc-stats';

export interface TreeSample {
  cpuPercent: number | null;
  rssBytes: number;
  processes: number;
}

function sysconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

export class ProcessTree {
  private last: { at: number; ticks: Map<number, number> } | null = null;
  private readonly tickHz: number;
  private readonly pageBytes: number;
  private readonly childrenFiles: boolean;

  constructor(private readonly root: number) {
    this.tickHz = HAS_PROC ? sysconf('CLK_TCK', 100) : 100;
    this.pageBytes = HAS_PROC ? sysconf('PAGESIZE', 4096) : 4096;
    this.childrenFiles = HAS_PROC && fs.existsSync(`/proc/self/task/${process.pid}/children`);
  }

  /** The tree now; null once the root is gone. */
  async sample(): Promise<TreeSample | null> {
    return HAS_PROC ? this.sampleProc() : this.samplePortable();
  }

  private sampleProc(): TreeSample | null {
    const stats = this.treeStats();
    if (stats.length === 0) return null;
    const now = performance.now();
    const ticks = new Map(stats.map((s) => [s.pid, s.ticks]));
    let cpuPercent: number | null = null;
    const last = this.last;
    if (last) {
      // Processes that were there both times: one that ended meanwhile takes its ticks along.
      let used = 0;
      for (const [pid, t] of ticks) {
        const before = last.ticks.get(pid);
        if (before !== undefined && t >= before) used += t - before;
      }
      cpuPercent = (used / this.tickHz / ((now - last.at) / 1000)) * 100;
    }
    this.last = { at: now, ticks };
    return { cpuPercent, rssBytes: stats.reduce((n, s) => n + s.rssPages, 0) * this.pageBytes, processes: stats.length };
  }

  /** The root and its descendants, each read once. */
  private treeStats(): ProcStat[] {
    const out: ProcStat[] = [];
    const seen = new Set<number>();
    let children: Map<number, number[]> | null = null;
    const queue = [this.root];
    while (queue.length > 0) {
      const pid = queue.pop()!;
      if (seen.has(pid)) continue;
      seen.add(pid);
      const text = readText(`/proc/${pid}/stat`);
      const st = text ? parseProcStat(pid, text) : null;
      if (!st) continue;
      out.push(st);
      if (this.childrenFiles) queue.push(...childrenOf(pid));
      else queue.push(...(children ??= allChildren()).get(pid) ?? []);
    }
    return out;
  }

  private async samplePortable(): Promise<TreeSample | null> {
    const pids = [this.root, ...(await descendants(this.root))];
    let stats: Record<string, { cpu: number; memory: number }>;
    try {
      stats = (await pidusage(pids)) as unknown as Record<string, { cpu: number; memory: number }>;
    } catch {
      return null;
    }
    const list = Object.values(stats).filter(Boolean);
    if (list.length === 0) return null;
    return { cpuPercent: list.reduce((n, s) => n + s.cpu, 0), rssBytes: list.reduce((n, s) => n + s.memory, 0), processes: list.length };
  }
}

/** The children of `pid`, from the children file of each of its threads. */
function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    const text = readText(`/proc/${pid}/task/${tid}/children`);
    if (text) for (const c of text.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

/** Without children files: every process's parent, from one walk over /proc. */
function allChildren(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const text = readText(`/proc/${d}/stat`);
    const st = text ? parseProcStat(Number(d), text) : null;
    if (!st) continue;
    const list = map.get(st.ppid) ?? [];
    list.push(st.pid);
    map.set(st.ppid, list);
  }
  return map;
}

async function descendants(pid: number): Promise<number[]> {
  try {
    // pidtree is an ES module: loaded when needed (only where there is no /proc).
    const mod = (await import('pidtree')) as unknown as { default?: (pid: number) => Promise<number[]> } & ((pid: number) => Promise<number[]>);
    return await (mod.default ?? mod)(pid);
  } catch {
    return [];
  }
}
