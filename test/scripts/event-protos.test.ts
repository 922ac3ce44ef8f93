/** event-protos.ts is made from the vendored TensorBoard .proto: it must say what the .proto says. */
import fs from 'fs';
import path from 'path';
import { PROTOS_MODULE, renderEventProtos } from '../../scripts/proto/event-protos';
import { repoRoot } from '../../scripts/docs/tables';

test('event-protos.ts is the one the .proto makes (run `npm run generate` after changing the .proto)', () => {
  expect(fs.readFileSync(path.join(repoRoot(), PROTOS_MODULE), 'utf8')).toBe(renderEventProtos());
});
