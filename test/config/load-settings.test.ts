/** OUTPOST_CONFIG overrides the defaults; anything else in it is refused, naming the setting and why. */
import { defaults, loadSettings } from '../../config';
import { serviceMaxima } from '../../config/service';
import { OutpostError } from '../../src/protocol/errors';

const load = (json: string) => loadSettings({ OUTPOST_CONFIG: json });
const known = `\\(known: ${Object.keys(defaults).join(', ')}\\)`; // the sections, as the message lists them

test('without OUTPOST_CONFIG (or with it empty) the settings are the defaults', () => {
  expect(loadSettings({})).toEqual(defaults);
  expect(loadSettings({ OUTPOST_CONFIG: '' })).toEqual(defaults);
  expect(load('{}')).toEqual(defaults);
});

test('an override changes that setting alone; the result is frozen', () => {
  const s = load('{"agent":{"fileStableMs":100,"uploadExisting":true},"service":{"host":"0.0.0.0"},"limits":{}}');
  expect(s.agent).toEqual({ ...defaults.agent, fileStableMs: 100, uploadExisting: true });
  expect(s.service).toEqual({ ...defaults.service, host: '0.0.0.0' });
  expect(s.limits).toEqual(defaults.limits);
  expect(Object.isFrozen(s)).toBe(true);
  expect(defaults.agent.fileStableMs).toBe(300); // the defaults themselves are untouched
});

test('0 is a setting (e.g. agent.compressBatchesOverBytes: never compress)', () => {
  expect(load('{"agent":{"compressBatchesOverBytes":0}}').agent.compressBatchesOverBytes).toBe(0);
});

test.each([
  ['{"agent":', /^OUTPOST_CONFIG is not valid JSON: /],
  ['[]', /^OUTPOST_CONFIG must be a JSON object$/],
  ['null', /^OUTPOST_CONFIG must be a JSON object$/],
  ['7', /^OUTPOST_CONFIG must be a JSON object$/],
  ['{"agnet":{}}', new RegExp(`^OUTPOST_CONFIG: unknown section "agnet" ${known}$`)],
  ['{"agent":[]}', /^OUTPOST_CONFIG: section "agent" must be an object$/],
  ['{"agent":7}', /^OUTPOST_CONFIG: section "agent" must be an object$/],
  ['{"agent":{"fileStable":100}}', /^OUTPOST_CONFIG: unknown setting "agent.fileStable"$/],
  // Names every object inherits are not settings: refused as unknown, never assigned.
  ['{"agent":{"toString":1}}', /^OUTPOST_CONFIG: unknown setting "agent.toString"$/],
  ['{"agent":{"__proto__":{"fileStableMs":1}}}', /^OUTPOST_CONFIG: unknown setting "agent.__proto__"$/],
  ['{"agent":{"constructor":{}}}', /^OUTPOST_CONFIG: unknown setting "agent.constructor"$/],
  ['{"__proto__":{}}', new RegExp(`^OUTPOST_CONFIG: unknown section "__proto__" ${known}$`)],
  ['{"constructor":{}}', new RegExp(`^OUTPOST_CONFIG: unknown section "constructor" ${known}$`)],
  ['{"hasOwnProperty":{"name":"x"}}', new RegExp(`^OUTPOST_CONFIG: unknown section "hasOwnProperty" ${known}$`)],
  ['{"agent":{"fileStableMs":"100"}}', /^OUTPOST_CONFIG: "agent.fileStableMs" must be a number, got "100"$/],
  ['{"agent":{"uploadExisting":1}}', /^OUTPOST_CONFIG: "agent.uploadExisting" must be a boolean, got 1$/],
  ['{"service":{"host":null}}', /^OUTPOST_CONFIG: "service.host" must be a string, got null$/],
  ['{"agent":{"fileStableMs":-1}}', /^OUTPOST_CONFIG: "agent.fileStableMs" must be a number >= 0, got -1$/],
  ['{"limits":{"maxFileBytes":1e999}}', /^OUTPOST_CONFIG: "limits.maxFileBytes" must be a number >= 0, got Infinity$/],
  [`{"service":{"inlineBlobBytes":${(serviceMaxima.inlineBlobBytes ?? 0) + 1}}}`, /^OUTPOST_CONFIG: "service.inlineBlobBytes" must be at most 1048576, got 1048577$/],
])('%s is refused', (json, message) => {
  const refusal = thrownBy(() => load(json));
  expect(refusal).toBeInstanceOf(OutpostError);
  expect((refusal as OutpostError).code).toBe('OUTPOST_ERR_CONFIG');
  expect((refusal as OutpostError).message).toMatch(message);
});

test('a maximum itself is a setting', () => {
  expect(load(`{"service":{"ingestSliceCells":${serviceMaxima.ingestSliceCells}}}`).service.ingestSliceCells).toBe(1_000_000);
});

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('nothing was thrown');
}
