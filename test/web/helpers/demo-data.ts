/** Believable runs for screenshots: a learning-rate sweep, noisy curves, logs and model files. */
import { Api } from './api';

/** A small seeded generator, so the screenshots come out the same every time. */
function rng(seed: number): () => number {
  let s = (seed * 0x9e3779b9) >>> 0; // mulberry32: neighbouring seeds give unrelated sequences
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const HOUR = 3600_000;

/** Runs over the last day, the newest still running (its duration reads right against the clock). */
export async function populateDemo(api: Api, base = Date.now() - 19 * HOUR - 50 * 60_000): Promise<{ featured: string; running: string }> {
  const lrs = [0.3, 0.1, 0.05, 0.03, 0.01, 0.005, 0.003, 0.001];
  for (let i = 0; i < lrs.length; i++) {
    const id = `cifar-${String(i + 1).padStart(3, '0')}`;
    await demoRun(api, id, 'cifar10-resnet18', `lr=${lrs[i]} bs=128`, base + i * 2.2 * HOUR, lrs[i], i, i === 3 ? 'failed' : 'completed', { batch_size: 128 });
  }
  for (let i = 0; i < 4; i++) {
    await demoRun(api, `tiny-${i + 1}`, 'gpt-tiny', `d_model=${128 << i}`, base - 20 * HOUR + i * 3 * HOUR, 0.0006, 20 + i, i === 1 ? 'killed' : 'completed', { model: { d_model: 128 << i } });
  }
  for (let i = 0; i < 3; i++) {
    await demoRun(api, `cifar-b${i + 1}`, 'cifar10-resnet18', `lr=${[0.1, 0.03, 0.01][i]} bs=256`, base + 9 * HOUR + i * 1.7 * HOUR, [0.1, 0.03, 0.01][i], 30 + i, 'completed', { batch_size: 256 });
  }
  await demoRun(api, 'cifar-009', 'cifar10-resnet18', 'lr=0.02 bs=256 mixup', base + 8 * 2.2 * HOUR, 0.02, 9, 'running', { batch_size: 256, mixup: true });
  await api.call('PATCH', '/runs/cifar-005', {
    tags: { stage: 'candidate' },
    note: 'Best of the **lr sweep** so far: 0.01 with cosine decay.\n\n- warm-up did not help at bs=128\n- next: the same with [mixup](https://arxiv.org/abs/1710.09412) at bs=256',
  });
  return { featured: 'cifar-005', running: 'cifar-009' };
}

async function demoRun(
  api: Api,
  id: string,
  experiment: string,
  name: string,
  start: number,
  lr: number,
  seed: number,
  status: 'completed' | 'failed' | 'killed' | 'running',
  params: Record<string, unknown>,
): Promise<void> {
  const rand = rng(seed + 7);
  const steps = status === 'failed' ? 900 : status === 'running' ? 1400 : 2000;
  const durationMs = steps * (0.9 + rand() * 0.6) * 1000;
  await api.putRun(id, {
    experiment,
    name,
    status: 'running',
    startTime: new Date(start).toISOString(),
    command: `python train.py --lr ${lr} --epochs 20${experiment === 'gpt-tiny' ? ' --model gpt' : ''}`,
    cwd: `/home/ada/projects/${experiment}`,
    host: `gpu-node-${1 + (seed % 4)}`,
    gitCommit: (0x9f3a2c1b7d4e5f60 + seed * 0x1111).toString(16).padStart(16, '0') + '718293a4b5c6d7e8',
    gitDirty: seed % 3 === 0,
  });
  await api.meta(id, { params: { lr, epochs: 20, optimizer: 'sgd+nesterov', ...params }, tags: { team: experiment === 'gpt-tiny' ? 'language' : 'vision' } });
  // A good learning rate ends low; too high or too low ends higher.
  const floor = 0.12 + Math.abs(Math.log10(lr) + 1.6) * 0.35;
  const lines: { step: number; metrics: Record<string, number> }[] = [];
  for (let s = 0; s < steps; s += 5) {
    const loss = floor + 2.2 * Math.exp(-s / 260) + (rand() - 0.5) * 0.12 * Math.exp(-s / 900) + (rand() - 0.5) * 0.04;
    const sched = lr * 0.5 * (1 + Math.cos((Math.PI * s) / 2000));
    lines.push({ step: s, metrics: { 'train/loss': Number(loss.toFixed(4)), lr: Number(sched.toPrecision(4)) } });
  }
  await api.log(id, lines);
  const epochs: { step: number; metrics: Record<string, number> }[] = [];
  for (let e = 1; e <= Math.floor(steps / 100); e++) {
    const acc = Math.min(0.975, 0.96 - floor * 0.18 - 0.55 * Math.exp(-e / 3) + (rand() - 0.5) * 0.012);
    epochs.push({ step: e * 100, metrics: { 'val/accuracy': Number(acc.toFixed(4)), 'val/loss': Number((floor * 1.1 + 1.8 * Math.exp(-e / 3.2)).toFixed(4)) } });
  }
  await api.log(id, epochs);
  if (status === 'running') return;
  const final = epochs[epochs.length - 1].metrics['val/accuracy'];
  await api.log(id, [{ metrics: { 'test accuracy': Number((final - 0.004).toFixed(4)), 'best epoch': epochs.length - 2, optimizer: 'sgd+nesterov' } }]);
  await api.log(id, [{ metrics: { 'per-class accuracy': Array.from({ length: 10 }, () => Number((final - 0.06 + rand() * 0.08).toFixed(3))) } }]);
  const log = Array.from({ length: Math.floor(steps / 100) }, (_, e) => `epoch ${String(e + 1).padStart(2)}  loss ${lines[Math.min(lines.length - 1, (e + 1) * 20)].metrics['train/loss'].toFixed(4)}  val_acc ${epochs[e].metrics['val/accuracy'].toFixed(4)}  ${(48 + rand() * 6).toFixed(1)}s`).join('\n');
  const ending = status === 'failed' ? '\nTraceback (most recent call last):\n  File "train.py", line 88, in <module>\nRuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n' : '\nsaved outputs/model/weights.pt\ndone.\n';
  await api.putArtifact(id, 'logs/run.log', Buffer.from(`loading CIFAR-10 (50000 train / 10000 test)\nmodel: resnet18, 11.2M parameters\n${log}${ending}`));
  await api.putArtifact(id, 'outputs/model/weights.pt', Buffer.alloc(4_470_000 + seed * 1000, 1));
  await api.putArtifact(id, 'outputs/model/config.json', Buffer.from(JSON.stringify({ arch: 'resnet18', lr, batch: 128 }, null, 2)));
  await api.putArtifact(id, 'outputs/plots/confusion.png', Buffer.alloc(58_211, 2));
  await api.putArtifact(id, 'outputs/predictions.csv', Buffer.alloc(391_004, 3));
  await api.putRun(id, { status, exitCode: status === 'completed' ? 0 : status === 'killed' ? 137 : 1, endTime: new Date(start + durationMs).toISOString() });
}
