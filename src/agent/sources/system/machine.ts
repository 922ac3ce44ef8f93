/**
 * The machine's load: CPU % (busy share of every core, 0-100), memory used and available, disk
 * read/write bytes/s (every whole disk), free space on the disk of outputs/, network rx/tx
 * bytes/s (every interface but loopback). Rates are over the time since the last sample. On Linux
 * read from /proc (proc-stats.ts); elsewhere through systeminformation.
 */
import fs from 'fs';
import si from 'systeminformation';
import { HAS_PROC, parseCpuTimes, parseDiskBytes, parseNetBytes, readText, wholeDisks } from './proc-stats';

interface Counters {
  at: number;
  cpu: { busy: number; total: number } | null;
  disk: { read: number; written: number } | null;
  net: { rx: number; tx: number } | null;
}

export class MachineLoad {
  private last: Counters | null = null;
  private readonly disks = HAS_PROC ? wholeDisks() : new Set<string>();

  constructor(private readonly outputsDir: string) {}

  /** Takes the counters the first sample's rates are measured from. */
  prime(): void {
    if (HAS_PROC) this.last = this.counters();
  }

  private counters(): Counters {
    const stat = readText('/proc/stat');
    const disk = readText('/proc/diskstats');
    const net = readText('/proc/net/dev');
    return { at: performance.now(), cpu: stat ? parseCpuTimes(stat) : null, disk: disk ? parseDiskBytes(disk, this.disks) : null, net: net ? parseNetBytes(net) : null };
  }

  async sample(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (HAS_PROC) {
      const now = this.counters();
      const last = this.last;
      this.last = now;
      if (last) {
        const seconds = (now.at - last.at) / 1000;
        if (now.cpu && last.cpu && now.cpu.total > last.cpu.total) out['system/cpu_percent'] = ((now.cpu.busy - last.cpu.busy) / (now.cpu.total - last.cpu.total)) * 100;
        if (now.disk && last.disk && seconds > 0) {
          out['system/disk_read_bytes_per_s'] = Math.max(0, now.disk.read - last.disk.read) / seconds;
          out['system/disk_write_bytes_per_s'] = Math.max(0, now.disk.written - last.disk.written) / seconds;
        }
        if (now.net && last.net && seconds > 0) {
          out['system/network_rx_bytes_per_s'] = Math.max(0, now.net.rx - last.net.rx) / seconds;
          out['system/network_tx_bytes_per_s'] = Math.max(0, now.net.tx - last.net.tx) / seconds;
        }
      }
    } else {
      const [load, disk, net] = await Promise.all([si.currentLoad().catch(() => null), si.fsStats().catch(() => null), si.networkStats('*').catch(() => [])]);
      if (load) out['system/cpu_percent'] = load.currentLoad;
      if (disk && disk.rx_sec !== null && disk.wx_sec !== null) {
        out['system/disk_read_bytes_per_s'] = disk.rx_sec;
        out['system/disk_write_bytes_per_s'] = disk.wx_sec;
      }
      const ifaces = net.filter((n) => n.iface !== 'lo' && n.rx_sec !== null);
      if (ifaces.length) {
        out['system/network_rx_bytes_per_s'] = ifaces.reduce((s, n) => s + (n.rx_sec ?? 0), 0);
        out['system/network_tx_bytes_per_s'] = ifaces.reduce((s, n) => s + (n.tx_sec ?? 0), 0);
      }
    }
    // /proc/meminfo, read by systeminformation (it spawns nothing for it).
    const mem = await si.mem().catch(() => null);
    if (mem) {
      out['system/memory_used_bytes'] = mem.total - mem.available;
      out['system/memory_available_bytes'] = mem.available;
    }
    try {
      const fsStat = await fs.promises.statfs(this.outputsDir);
      out['system/disk_free_bytes'] = fsStat.bavail * fsStat.bsize;
    } catch {
      // outputs/ not there (yet): no figure this time
    }
    return out;
  }
}
