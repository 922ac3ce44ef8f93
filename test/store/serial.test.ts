import { Serial } from '../../src/store/serial';
import { openTempStore } from './store-fixture';

test('tasks run one at a time in order of arrival; with nothing in progress a task runs at once', async () => {
  const serial = new Serial();
  const order: string[] = [];
  let release!: () => void;
  const first = serial.run(async () => {
    order.push('a starts');
    await new Promise<void>((r) => (release = r));
    order.push('a ends');
  });
  const second = serial.run(() => order.push('b'));
  expect(order).toEqual(['a starts']);
  release();
  await Promise.all([first, second]);
  expect(order).toEqual(['a starts', 'a ends', 'b']);
  void serial.run(() => order.push('c'));
  expect(order).toEqual(['a starts', 'a ends', 'b', 'c']);
  await expect(serial.run(() => { throw new Error('no'); })).rejects.toThrow('no');
  expect(await serial.run(() => 1)).toBe(1);
});

test("a SQLite store's write made inside the caller's transaction is part of it (a bulk build nests its writes)", async () => {
  const t = await openTempStore();
  try {
    expect(() =>
      t.store.db.transaction(() => {
        void t.store.upsertRun('rolled-back', { experiment: 'x' });
        throw new Error('roll back');
      })(),
    ).toThrow('roll back');
    t.store.db.transaction(() => void t.store.upsertRun('kept', { experiment: 'x' }))();
    await new Promise((r) => setImmediate(r));
    expect(await t.store.getRun('rolled-back')).toBeNull();
    expect(await t.store.getRun('kept')).not.toBeNull();
  } finally {
    await t.cleanup();
  }
});
