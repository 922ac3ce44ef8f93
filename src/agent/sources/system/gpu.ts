/**
 * Each GPU's load from nvidia-smi, where there is one: a single nvidia-smi in its loop mode
 * (--loop-ms), which prints every GPU's line each interval (far cheaper than starting it each time:
 * it initialises the driver's state on every start). If the agent dies, nvidia-smi's next write
 * finds no reader and SIGPIPE ends it.
 */
import { ChildProcess, spawn } from 'child_process';
import type { Logger } from '../../../log/logger';

/** The query: the fields of each line, in this order. */
export const GPU_QUERY = ['index', 'utilization.gpu', 'memory.used', 'memory.total', 'power.draw', 'temperature.gpu'];

const MIB = 1024 * 1024;

/** One line of `nvidia-smi --query-gpu=<GPU_QUERY> --format=csv,noheader,nounits` as metrics; null if it is not one. */
export function parseGpuLine(line: string): Record<string, number> | null {
  const f = line.split(',').map((s) => s.trim());
  if (f.length !== GPU_QUERY.length || !/^\d+$/.test(f[0])) return null;
  const out: Record<string, number> = {};
  const put = (name: string, text: string, scale = 1) => {
    const v = Number(text); // "[N/A]", "[Not Supported]": no value
    if (text !== '' && Number.isFinite(v)) out[`system/gpu/${f[0]}/${name}`] = v * scale;
  };
  put('utilization_percent', f[1]);
  put('memory_used_bytes', f[2], MIB);
  put('memory_total_bytes', f[3], MIB);
  put('power_watts', f[4]);
  put('temperature_celsius', f[5]);
  return out;
}

export class NvidiaSmi {
  private child: ChildProcess | null = null;
  private latest = new Map<string, Record<string, number>>();
  private buffered = '';
  private gone = false;

  constructor(
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    let child: ChildProcess;
    try {
      child = spawn('nvidia-smi', [`--query-gpu=${GPU_QUERY.join(',')}`, '--format=csv,noheader,nounits', `--loop-ms=${Math.max(100, Math.round(this.intervalMs))}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch {
      this.gone = true;
      return;
    }
    this.child = child;
    let errors = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.take(d));
    child.stderr!.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-500)));
    child.on('error', (err) => {
      // No nvidia-smi on this machine: no GPU metrics, and no more tries.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.info(`nvidia-smi could not be started (${err.message}); no GPU metrics`);
      this.gone = true;
    });
    child.on('exit', (code, signal) => {
      if (this.child === child && !this.gone) this.log.info(`nvidia-smi ended (${signal ?? `exit ${code}`}${errors ? `: ${errors.trim().split('\n')[0]}` : ''}); no more GPU metrics`);
      this.gone = true;
      this.child = null;
    });
    // It must not keep the agent's process alive.
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
  }

  private take(data: string): void {
    this.buffered += data;
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() ?? '';
    for (const line of lines) {
      const m = parseGpuLine(line);
      if (m) this.latest.set(line.split(',')[0].trim(), m);
    }
  }

  /** The latest line of each GPU. */
  sample(): Record<string, number> {
    return Object.assign({}, ...this.latest.values()) as Record<string, number>;
  }

  stop(): void {
    this.gone = true;
    this.child?.kill();
    this.child = null;
  }
}
