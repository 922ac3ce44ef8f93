/** The parsers of the machine's counters (/proc) and of nvidia-smi's lines, on their own. */
import { parseGpuLine } from '../../../src/agent/sources/system/gpu';
import { parseCpuTimes, parseDiskBytes, parseNetBytes, parseProcStat } from '../../../src/agent/sources/system/proc-stats';

test('/proc/stat: busy and total jiffies; idle and iowait are not busy, guest time is counted once', () => {
  expect(parseCpuTimes('cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 1 2 3 4\n')).toEqual({ busy: 160, total: 1000 });
  expect(parseCpuTimes('intr 1 2\n')).toBeNull();
});

test('/proc/diskstats: sectors of whole disks only, as bytes', () => {
  const text = ['   8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0', '   8       1 sda1 90 0 1800 0 40 0 3000 0 0 0 0', ' 253       0 dm-0 1 0 10 0 1 0 10 0 0 0 0', ' 259       0 nvme0n1 1 0 8 0 2 0 16 0 0 0 0'].join('\n');
  expect(parseDiskBytes(text, new Set(['sda', 'nvme0n1']))).toEqual({ read: (2000 + 8) * 512, written: (4000 + 16) * 512 });
});

test('/proc/net/dev: every interface but lo', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo: 5000 10 0 0 0 0 0 0 5000 10 0 0 0 0 0 0',
    '  eth0: 1000 5 0 0 0 0 0 0 300 3 0 0 0 0 0 0',
    'wlan0:200 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0',
  ].join('\n');
  expect(parseNetBytes(text)).toEqual({ rx: 1200, tx: 400 });
});

test('/proc/<pid>/stat: a command name with spaces and parentheses does not shift the fields', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[1] = '77'; // ppid (field 4)
  fields[11] = '120'; // utime (14)
  fields[12] = '30'; // stime (15)
  fields[21] = '2500'; // rss (24)
  expect(parseProcStat(42, `42 (a (weird) name) ${fields.join(' ')}`)).toEqual({ pid: 42, ppid: 77, ticks: 150, rssPages: 2500 });
});

test("nvidia-smi's csv line: memory in MiB as bytes, [N/A] and [Not Supported] as no value", () => {
  expect(parseGpuLine('0, 35, 1024, 16384, 45.12, 51')).toEqual({
    'system/gpu/0/utilization_percent': 35,
    'system/gpu/0/memory_used_bytes': 1024 * 1024 * 1024,
    'system/gpu/0/memory_total_bytes': 16384 * 1024 * 1024,
    'system/gpu/0/power_watts': 45.12,
    'system/gpu/0/temperature_celsius': 51,
  });
  expect(parseGpuLine('3, [N/A], 10, 80, [Not Supported], 40')).toEqual({ 'system/gpu/3/memory_used_bytes': 10 * 1024 * 1024, 'system/gpu/3/memory_total_bytes': 80 * 1024 * 1024, 'system/gpu/3/temperature_celsius': 40 });
  expect(parseGpuLine('No devices were found')).toBeNull();
});
